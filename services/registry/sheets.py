"""The schools' survey sheets: the columns, and reading an upload (writing: sheet_writers).

Reading refuses, with a clear reason and before anything is written, what is not a sheet
of children: not a spreadsheet, password-protected, empty, formula cells (a formula's
value is whatever the last program to save it computed; we want typed data), merged cells
in the header row, missing required columns. XLSX and XLS are read with python-calamine,
CSV (UTF-8 or GB18030, as Excel in China saves it) with the csv module.

Counties' sheets are not the template: a title (郸城县农村留守儿童摸底排查登记表, merged across
the columns) and a line such as 填报单位 often come before the header, and a village or a
school is often merged down over its children's rows. The header is the row among the first
ten that names the most columns; what is above it is not read, and a merged cell below it
gives its value to every cell it covers. Row numbers in errors are the sheet's own.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import python_calamine

from services.registry import vocabulary
from services.registry.sheet_headers import HEADER_WORDS, column_letter, header_key, suggest_columns

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_SCHEMA = {"schema": {"type": "string", "format": "binary"}}  # how OpenAPI names a file body
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_ROWS = 200_000
# What Excel and WPS save a CSV in: "CSV UTF-8" (with a BOM), UTF-8 without one, and the
# ANSI code page of a Chinese Windows (GBK, which GB18030 contains).
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
_SNIFF_BYTES = 65536
HEADER_SEARCH_ROWS = 10  # how far down a title and notes may push the header


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    required: bool = False
    text: bool = False            # stored as text in the template (IDs, codes, phones)
    choices: tuple[str, ...] = ()

    @property
    def header(self) -> str:
        return f"{self.zh}{'*' if self.required else ''}\n{self.en}"


# What a sheet's cells may hold → code, from the vocabularies (services/registry/vocabulary.py).
GENDERS = vocabulary.GENDER.reading()
HOUSEHOLD = vocabulary.HOUSEHOLD_TYPE.reading()
LEFT_BEHIND = vocabulary.LEFT_BEHIND_TYPE.reading()
CATEGORIES = vocabulary.CATEGORY.reading()
SENSITIVE = vocabulary.SENSITIVE_CATEGORY.reading()
RELATIONS = vocabulary.GUARDIAN_RELATION.reading()
YES_NO = {word: code == "yes" for word, code in vocabulary.YES_NO.reading().items()}


def _labels(vocabulary_: vocabulary.Vocabulary) -> tuple[str, ...]:
    return tuple(vocabulary_.labels.values())

COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", "Name", required=True),
    Column("gender", "性别", "Gender", choices=_labels(vocabulary.GENDER)),
    Column("birth_date", "出生日期", "Birth date (YYYY-MM-DD)", text=True),
    Column("national_id", "身份证号", "National ID", required=True, text=True),
    Column("ethnicity", "民族", "Ethnicity"),
    Column("household_type", "户籍类型", "Household registration", choices=_labels(vocabulary.HOUSEHOLD_TYPE)),
    # Blank or absent: the uploader's county.
    Column("county_code", "县区代码", "County code (12 digits; blank: yours)", text=True),
    Column("township_code", "乡镇代码", "Township (12- or 9-digit code or name)", required=True, text=True),
    Column("village_code", "村社区代码", "Village (12-digit code or name)", text=True),
    Column("school_id", "学校代码", "School ID", text=True),
    Column("grade", "年级", "Grade"),
    Column("class_name", "班级", "Class"),
    Column("address", "家庭住址", "Home address"),
    Column("left_behind_type", "留守类型", "Left-behind type", choices=_labels(vocabulary.LEFT_BEHIND_TYPE)),
    Column("categories", "儿童类别", "Categories (、separated)"),
    Column("sensitive_categories", "困境类别", "Sensitive categories (、separated)"),
    Column("priority", "重点关注", "Priority", choices=_labels(vocabulary.YES_NO)),
    Column("priority_reason", "重点关注原因", "Priority reason"),
    Column("guardian_name", "监护人姓名", "Guardian name"),
    Column("guardian_relation", "监护人关系", "Guardian relation", choices=vocabulary.GUARDIAN_RELATION_CHOICES),
    Column("guardian_age", "监护人年龄", "Guardian age"),
    Column("guardian_health", "监护人健康状况", "Guardian health", choices=vocabulary.GUARDIAN_HEALTH_CHOICES),
    Column("guardian_occupation", "监护人职业", "Guardian occupation"),
    Column("guardian_phone", "监护人电话", "Guardian phone", text=True),
    Column("guardian_address", "监护人住址", "Guardian address"),
    Column("father_name", "父亲姓名", "Father name"),
    Column("father_work_place", "父亲务工地", "Father work place"),
    Column("father_phone", "父亲电话", "Father phone", text=True),
    Column("father_away_since", "父亲外出时间", "Father away since (2020-02)", text=True),
    Column("mother_name", "母亲姓名", "Mother name"),
    Column("mother_work_place", "母亲务工地", "Mother work place"),
    Column("mother_phone", "母亲电话", "Mother phone", text=True),
    Column("mother_away_since", "母亲外出时间", "Mother away since (2020-02)", text=True),
    Column("school_status", "在校状态", "Schooling", choices=_labels(vocabulary.SCHOOL_STATUS)),
    Column("boarding", "寄宿", "Boarding", choices=_labels(vocabulary.YES_NO)),
    Column("study_level", "学习情况", "Schoolwork", choices=_labels(vocabulary.STUDY_LEVEL)),
    Column("hobbies", "爱好特长", "Hobbies"),
    Column("particulars", "特殊情况", "Particulars"),
    Column("consent_evidence", "监护人同意书编号", "Consent evidence"),
    Column("statutory_duty", "依法定职责登记", "Statutory duty", choices=_labels(vocabulary.YES_NO)),
)
BY_KEY = {column.key: column for column in COLUMNS}
_KEY_BY_ZH = {column.zh: column.key for column in COLUMNS}
_KEYS = set(BY_KEY)
# Every header word the registry reads (the template's and the surveys'), for proposals.
KNOWN_HEADERS = {**HEADER_WORDS, **_KEY_BY_ZH}


class SheetRejected(ValueError):
    """The whole file is refused; `reason` is shown to the user (zh / en)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- reading -----------------------------------------------------------------------------

def sniff_format(content: bytes) -> str:
    if not content or not content.strip():
        raise SheetRejected("文件为空 / the file is empty")
    if content.startswith(b"PK\x03\x04"):
        return "xlsx"
    if content.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        # An encrypted XLSX is an OLE container holding an "EncryptedPackage" stream.
        if "EncryptedPackage".encode("utf-16-le") in content[:1_000_000] or b"EncryptionInfo" in content:
            raise SheetRejected("文件设有密码，请取消密码后再上传 / the file is password-protected; remove the password")
        return "xls"
    head = content[:_SNIFF_BYTES]
    if b"\x00" in head:
        raise SheetRejected("不是电子表格文件（支持 XLSX、XLS、CSV） / not a spreadsheet (XLSX, XLS or CSV)")
    for encoding in CSV_ENCODINGS:
        # An incremental decoder, not final: a character the window cuts in two (a UTF-8
        # character after Excel's 3-byte BOM, a GB18030 pair or quad) is left pending
        # rather than taken for an invalid byte.
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=len(content) <= _SNIFF_BYTES)
            return "csv"
        except UnicodeDecodeError:
            continue
    raise SheetRejected("不是电子表格文件（支持 XLSX、XLS、CSV） / not a spreadsheet (XLSX, XLS or CSV)")


def _header_key(cell: Any) -> str | None:
    return header_key(cell, _KEY_BY_ZH, _KEYS)


@dataclass
class Sheet:
    file_format: str
    columns: dict[str, int]   # column key → index in a row
    rows: list[list[Any]]     # data rows; index 0 is spreadsheet row 2
    headers: list[str]
    unmapped: list[str] = field(default_factory=list)  # headers naming no column ("F 备注"): reported
    # unmapped column → the column its values look like (an 18-digit ID, a mobile…): a
    # proposal for the clerk, never applied by itself
    suggested: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # required columns only proposed: to confirm
    first_row: int = 2  # the sheet's row number of rows[0] (the header is the row before it)

    def mapping(self) -> dict[str, str]:
        """Each recognised header (as the sheet wrote it) → the column it was read as."""
        return {self.headers[index].split("\n", 1)[0]: key for key, index in self.columns.items()}

    @property
    def total(self) -> int:
        return len(self.rows)


def _check_xlsx_cells(content: bytes) -> None:
    """Formula cells: calamine gives the cached value and cannot tell a formula apart."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = [n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
            if not names:
                raise SheetRejected("不是有效的 XLSX 文件 / not a valid XLSX workbook")
            first = sorted(names, key=lambda n: int(re.sub(r"\D", "", n)))[0]
            with archive.open(first) as sheet_xml:
                tail = b""
                while chunk := sheet_xml.read(1 << 22):
                    window = tail + chunk  # a tag cut between two chunks is still seen
                    if (b"<f>" in window or b"<f " in window or b"<f/>" in window or b":f>" in window
                            or b":f " in window) and re.search(rb"<(?:\w+:)?f[ >/]", window):
                        raise SheetRejected("表格含有公式，请粘贴为数值后再上传 / the sheet has formula cells; paste them as values")  # noqa: E501
                    tail = chunk[-16:]
    except zipfile.BadZipFile:
        raise SheetRejected("文件已损坏或不是 XLSX / the file is damaged or not an XLSX workbook") from None


Merged = list[tuple[tuple[int, int], tuple[int, int]]]  # ((first row, first column), (last row, last column))


def _read_workbook(content: bytes, file_format: str, check_formulas: bool) -> tuple[list[list[Any]], Merged]:
    if file_format == "xlsx" and check_formulas:
        _check_xlsx_cells(content)
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheet = workbook.get_sheet_by_index(0)
        merged = list(sheet.merged_cell_ranges or [])
        if sheet.height > MAX_ROWS + HEADER_SEARCH_ROWS:
            raise SheetRejected(f"超过 {MAX_ROWS} 行，请分批上传 / more than {MAX_ROWS} rows; split the file")
        return sheet.to_python(skip_empty_area=False), merged
    except python_calamine.PasswordError:
        raise SheetRejected("文件设有密码，请取消密码后再上传 / the file is password-protected; remove the password") from None
    except (python_calamine.CalamineError, python_calamine.ZipError, python_calamine.XmlError,
            python_calamine.WorksheetNotFound, ValueError) as exc:
        if isinstance(exc, SheetRejected):
            raise
        raise SheetRejected("无法读取文件，可能已损坏 / the workbook cannot be read; it may be damaged") from None


def _fill_merged(rows: list[list[Any]], merged: Merged, header_index: int) -> None:
    """A cell merged over several rows or columns below the header (a village over its
    children) gives its value to every cell it covers; calamine leaves those empty. Merged
    cells in the header itself are refused: which column is which would be a guess."""
    for (top, left), (bottom, right) in merged:
        if top <= header_index <= bottom:
            raise SheetRejected(f"表头（第{header_index + 1}行）含有合并单元格，请拆分后上传 / the header row "
                                f"(row {header_index + 1}) has merged cells; unmerge them")
        if top < header_index or top >= len(rows):
            continue
        value = rows[top][left] if left < len(rows[top]) else ""
        for row in rows[top:bottom + 1]:
            if len(row) <= right:
                row.extend([""] * (right + 1 - len(row)))
            for column in range(left, right + 1):
                row[column] = value


def _read_csv(content: bytes) -> list[list[Any]]:
    for encoding in CSV_ENCODINGS:
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetRejected("CSV 编码无法识别（请用 UTF-8） / the CSV is not UTF-8 or GB18030")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        raise SheetRejected("CSV 格式错误 / the CSV cannot be parsed") from None
    if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
        raise SheetRejected(f"超过 {MAX_ROWS} 行，请分批上传 / more than {MAX_ROWS} rows; split the file")
    for row in rows:
        if any(str(cell).startswith("=") for cell in row):
            raise SheetRejected("表格含有公式，请粘贴为数值后再上传 / the sheet has formula cells; paste them as values")
    return rows


def read_rows(content: bytes) -> list[list[Any]]:
    """Any sheet's rows (XLSX, XLS, CSV), checked as an upload is: for other registers' sheets."""
    file_format = sniff_format(content)
    if file_format == "csv":
        return _read_csv(content)
    rows, merged = _read_workbook(content, file_format, True)
    _fill_merged(rows, merged, 0)
    return rows


def first_line(header: str) -> str:
    """A header as a mapping names it: its first line (the template's headers add English below)."""
    return header.split("\n", 1)[0]


def map_headers(header: list[str], saved: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """Column key → index, and the headers read as no column ("F 备注"). `saved`: header →
    column key ('' for "not imported"), as a clerk confirmed it for the county; it comes
    before the words the registry knows."""
    columns: dict[str, int] = {}
    unmapped: list[str] = []
    for index, cell in enumerate(header):
        if not cell:
            continue
        key = saved[first_line(cell)] if first_line(cell) in saved else _header_key(cell)
        if key is None:
            continue
        if key == "":  # not imported, but listed in the job's report
            unmapped.append(f"{column_letter(index)} {first_line(cell)}")
            continue
        if key in columns:
            raise SheetRejected(f"表头重复：{BY_KEY[key].zh} / the column '{BY_KEY[key].en}' appears twice")
        columns[key] = index
    return columns, unmapped


def find_header(rows: list[list[Any]], saved: dict[str, str]) -> int:
    """The index of the header row: of the first rows, the one that names the most columns
    (the first of equals); row 1 when none names any."""
    best, best_count = 0, 0
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = {saved[first_line(h)] if first_line(h) in saved else _header_key(h)
                 for h in (str(c or "").strip() for c in row) if h}
        count = len(names - {None, ""})
        if count > best_count:
            best, best_count = index, count
    return best


def missing_columns(columns: dict[str, int]) -> list[str]:
    return [key for key, column in BY_KEY.items() if column.required and key not in columns]


def read_sheet(content: bytes, *, check_formulas: bool = True, saved: dict[str, str] | None = None) -> Sheet:
    """Parses and checks a whole upload; raises SheetRejected with the reason. A sheet
    whose missing required columns are all proposed (`suggested`) is read, for the clerk to
    confirm the mapping. `saved`: the county's confirmed mapping (header → column key).
    `check_formulas=False` skips the scan of an XLSX's XML for formula cells (about a
    fifth of the reading time): only for bytes that already passed it, as an import job's
    file did when it was uploaded."""
    file_format = sniff_format(content)
    merged: Merged = []
    if file_format == "csv":
        rows = _read_csv(content)
    else:
        rows, merged = _read_workbook(content, file_format, check_formulas)
    while rows and not any(str(c).strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise SheetRejected("文件为空 / the file is empty")
    header_index = find_header(rows, saved or {})
    _fill_merged(rows, merged, header_index)
    if len(rows) > MAX_ROWS + header_index + 1:
        raise SheetRejected(f"超过 {MAX_ROWS} 行，请分批上传 / more than {MAX_ROWS} rows; split the file")
    header = [str(c or "").strip() for c in rows[header_index]]
    columns, unmapped = map_headers(header, saved or {})
    data = rows[header_index + 1:]
    suggested = suggest_columns(unmapped, columns, data, KNOWN_HEADERS)
    if not columns and not suggested:
        raise SheetRejected(f"前{HEADER_SEARCH_ROWS}行中没有模板的表头，请使用模板 / none of the first "
                            f"{HEADER_SEARCH_ROWS} rows is the template's header; use the template")
    missing = missing_columns(columns)
    uncovered = [key for key in missing if key not in suggested.values()]
    if uncovered or not columns:
        hints = "".join(f"；第{label.split(' ', 1)[0]}列“{label.split(' ', 1)[-1]}”看来是{BY_KEY[key].zh}"
                        for label, key in suggested.items() if key in missing)
        names = "、".join(BY_KEY[key].zh for key in missing) or "全部 all"
        raise SheetRejected(f"缺少必填列：{names}{hints} / required columns missing: "
                            f"{', '.join(BY_KEY[key].en for key in missing)}")
    if not any(any(str(c).strip() for c in row) for row in data):
        raise SheetRejected("表格没有数据行 / the sheet has no data rows")
    return Sheet(file_format=file_format, columns=columns, rows=data, headers=header, unmapped=unmapped,
                 suggested=suggested, missing=missing, first_row=header_index + 2)



def cells(sheet: Sheet, row: list[Any]) -> dict[str, Any]:
    """A data row as {column key: raw value} (missing cells are '')."""
    return row_cells(sheet.columns, row)


def row_cells(columns: dict[str, int], row: list[Any]) -> dict[str, Any]:
    return {key: (row[index] if index < len(row) else "") for key, index in columns.items()}

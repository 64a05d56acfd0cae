"""The schools' survey sheets: the columns, and reading an upload (writing: sheet_writers).

Reading refuses, with a clear reason and before anything is written, what is not a sheet
of children: whatever shared/sheet_reading.py (the one reader of uploads) refuses, and
missing required columns.

Counties' sheets are not the template: a title (郸城县农村留守儿童摸底排查登记表, merged across
the columns) and a line such as 填报单位 often come before the header, and a village or a
school is often merged down over its children's rows. The header is the row among the first
ten that names the most columns; what is above it is not read, and a merged cell below it
gives its value to every cell it covers. Row numbers in errors are the sheet's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.registry import vocabulary
from shared.sheet_reading import (  # noqa: F401  (the registry's modules import them from here)
    CSV_ENCODINGS, HEADER_SEARCH_ROWS, MAX_ROWS, MAX_UPLOAD_BYTES, XLSX_SCHEMA, XLSX_TYPE, Merged, SheetRejected,
    _fill_merged, _read_csv, _read_workbook, read_rows, sniff_format,
)
from services.registry.sheet_headers import HEADER_WORDS, column_letter, header_key, suggest_columns



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


# -- reading -----------------------------------------------------------------------------

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

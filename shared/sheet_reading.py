"""Reading a spreadsheet upload (XLSX, XLS, CSV) into rows of cells, checked: the one reader
every service's sheet uploads go through (the registry's children and schools, pairing's aid
lists). What each sheet's columns mean is its owner's business; this refuses, with a reason
for the user and before anything is written, what is not a usable sheet: not a spreadsheet,
password-protected, empty, damaged, formula cells (a formula's value is whatever the last
program to save it computed; we want typed data), merged cells in the header row, too many
rows. XLSX and XLS are read with python-calamine, CSV (UTF-8 or GB18030, as Excel in China
saves it) with the csv module."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from typing import Any

import python_calamine

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_SCHEMA = {"schema": {"type": "string", "format": "binary"}}  # how OpenAPI names a file body
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_ROWS = 200_000
# What Excel and WPS save a CSV in: "CSV UTF-8" (with a BOM), UTF-8 without one, and the
# ANSI code page of a Chinese Windows (GBK, which GB18030 contains).
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
_SNIFF_BYTES = 65536
HEADER_SEARCH_ROWS = 10  # how far down a title and notes may push the header


class SheetRejected(ValueError):
    """The whole file is refused; `reason` is shown to the user (zh / en)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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

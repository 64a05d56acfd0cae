"""Reading a county's list of schools from a sheet (XLSX, XLS or CSV): 学校名称*,
学校标识码, 乡镇* (12- or 9-digit code or name), 学段* (小学, 初中, 九年制…), 校长. Pure,
apart from reading the file."""

from __future__ import annotations

import re
from typing import Any, Iterator

from services.registry import vocabulary
from services.registry.divisions import DivisionRegister
from services.registry.identity import clean_text
from services.registry.sheets import SheetRejected, read_rows
from shared.rules import RuleViolation

HEADERS = {
    "name": ("学校名称", "学校", "校名", "name"),
    "code": ("学校标识码", "学校代码", "标识码", "code"),
    "township_code": ("乡镇", "乡镇（街道）", "所属乡镇", "乡镇代码", "township"),
    "stage": ("学段", "学校类型", "办学类型", "类型", "stage"),
    "head": ("校长", "负责人", "校长姓名", "head"),
}
REQUIRED = ("name", "township_code", "stage")
_CODE = re.compile(r"\d{10}")
STAGES = vocabulary.SCHOOL_STAGE.reading()


def read_schools(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """(sheet row, {column: text}) for each non-blank row; SheetRejected for an unusable file."""
    rows = read_rows(content)
    if not rows:
        raise SheetRejected("文件为空 / the file is empty")
    header = [clean_text(cell).replace("*", "") for cell in rows[0]]
    columns = {key: header.index(word) for key, words in HEADERS.items() for word in words if word in header}
    missing = [HEADERS[key][0] for key in REQUIRED if key not in columns]
    if missing:
        raise SheetRejected(f"缺少必填列：{'、'.join(missing)} / required columns missing")
    read = []
    for offset, row in enumerate(rows[1:]):
        cells = {key: clean_text(row[index]) if index < len(row) else "" for key, index in columns.items()}
        if any(cells.values()):
            read.append((offset + 2, cells))
    return read


def checked_rows(rows: list[tuple[int, dict[str, str]]], register: DivisionRegister,
                 county: str) -> Iterator[tuple[int, dict[str, Any], list[tuple[str, str]]]]:
    """Each row's values for the register, or its faults (column, reason)."""
    for row_number, cells in rows:
        faults: list[tuple[str, str]] = []
        values: dict[str, Any] = {"name": cells.get("name"), "code": cells.get("code") or None,
                                  "head": cells.get("head") or None, "county_code": county}
        for key in REQUIRED:
            if not cells.get(key):
                faults.append((key, "必填 / is required"))
        if values["code"] and not _CODE.fullmatch(values["code"]):
            faults.append(("code", "学校标识码应为10位数字 / the school code has 10 digits"))
        if cells.get("stage"):
            values["stage"] = STAGES.get(cells["stage"])
            if values["stage"] is None:
                faults.append(("stage", f"不是可选值之一：{vocabulary.SCHOOL_STAGE.allowed_text()} / unknown stage"))
        if cells.get("township_code"):
            try:
                values["township_code"] = register.resolve_township(county, cells["township_code"])
            except RuleViolation as violation:
                faults.append(("township_code", violation.reason))
        yield row_number, values, faults

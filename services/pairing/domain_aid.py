"""Aid programmes (资助项目), pure rules: the term a distribution counts in, a programme
once per child per term, the budget, and reading a distribution sheet's rows. No I/O."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Mapping
from uuid import UUID

from services.pairing.domain import support_period_key
from shared.rules import Refusal


def term_of(given_on: date) -> str:
    """A programme's amount is per term (学期): the same terms as the support flag's."""
    return support_period_key(given_on, "term")


def check_budget(*, budget_fen: int, spent_fen: int, wanted_fen: int) -> None:
    """A list whose total exceeds what is left of the budget is refused as a whole: half a
    distribution recorded would not match the receipt sheet the children signed."""
    remaining = budget_fen - spent_fen
    if wanted_fen > remaining:
        raise Refusal(409, "over_budget",
                      f"此名单合计{wanted_fen / 100:.2f}元，超出项目剩余预算{remaining / 100:.2f}元 / "
                      "the list's total exceeds the programme's remaining budget",
                      remaining_fen=remaining, wanted_fen=wanted_fen)


def duplicate_rows(rows: Iterable[tuple[int, UUID]], given: set[UUID],
                   columns: Mapping[int, str] | None = None) -> list[dict[str, Any]]:
    """Rows whose child already had the programme this term (or appears twice in the list):
    each named by its row (and, for a sheet, the column that named the child), as a 422's
    errors list."""
    seen: dict[UUID, int] = {}
    errors: list[dict[str, Any]] = []

    def fault(row_no: int, reason: str) -> dict[str, Any]:
        if columns is not None and row_no in columns:
            return row_error(row_no, columns[row_no], reason)
        return {"field": f"row {row_no}", "row": row_no, "reason": reason}
    for row_no, child_id in rows:
        if child_id in given:
            errors.append(fault(row_no, "本学期已领取过此项目 / already given this term"))
        elif child_id in seen:
            errors.append(fault(row_no, f"与第{seen[child_id]}行是同一儿童 / the same child as row {seen[child_id]}"))
        else:
            seen[child_id] = row_no
    return errors


# -- the distribution sheet --------------------------------------------------------------

# Headers a sheet may use for each column (first line of the header cell, as the printed
# receipt sheet and the counties' own lists write them); other columns (序号, 学校, 班级,
# 签名 …) are for people and are not read. A row names its child by 儿童编号 (Shouhu's id), or
# by 身份证号, or — on a sheet without a 身份证号 column — by 姓名 and 出生日期; the registry says
# which child the last two are (registry_children.py), the list keeps only the child's id.
SHEET_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "child_id": ("儿童编号", "child id"),
    "national_id": ("身份证号", "身份证号码", "公民身份号码", "身份证", "national id"),
    "name": ("姓名", "学生姓名", "儿童姓名", "name"),
    "birth_date": ("出生日期", "出生年月日", "birth date"),
    "amount": ("金额（元）", "金额(元)", "金额", "amount"),
    "receipt_no": ("收据号", "收据编号", "receipt"),
}
COLUMN_WORDS = {"child_id": "儿童编号", "national_id": "身份证号", "name": "姓名", "birth_date": "出生日期",
                "amount": "金额", "receipt_no": "收据号"}
HEADER_ROWS = 10  # a title or notes may come before the header


@dataclass(frozen=True)
class SheetRow:
    row_no: int          # the sheet's own row number
    child_id: UUID | None  # None: the registry is asked who `identity` names
    amount_fen: int | None
    receipt_no: str | None
    # {"national_id": …} or {"name": …, "birth_date": …}: sent to the registry, never kept
    identity: dict[str, str] | None = None

    @property
    def named_by(self) -> str:
        """The column that names the row's child, for its faults."""
        if self.identity is None:
            return "儿童编号"
        return "身份证号" if "national_id" in self.identity else "姓名"


def row_error(row_no: int, column: str, reason: str) -> dict[str, Any]:
    """One fault of a sheet, as the 422 lists it: the row, the column (its header word) and why."""
    return {"field": f"row {row_no}, {column}", "row": row_no, "column": column, "reason": reason}


def _column_of(cell: Any) -> str | None:
    text = re.sub(r"\s+", "", str(cell or "").split("\n", 1)[0]).lower().rstrip("*")
    for key, words in SHEET_COLUMNS.items():
        if text in (re.sub(r"\s+", "", word).lower() for word in words):
            return key
    return None


def _names_children(keys: set[str]) -> bool:
    return "child_id" in keys or "national_id" in keys or {"name", "birth_date"} <= keys


def _fen(value: Any) -> int:
    try:
        yuan = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("金额应为数字（元） / the amount is not a number of yuan") from None
    if yuan < 0 or yuan != yuan.quantize(Decimal("0.01")) or yuan > 1_000_000:
        raise ValueError("金额应为0至100万元、最多两位小数 / the amount must be 0–1,000,000 yuan, at most 2 decimals")
    return int(yuan * 100)


def _text(value: Any) -> str:
    """A cell as text: a date cell as 2016-03-09 (the registry reads the usual ways of
    writing a date), a whole number without '.0'."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value or "").strip()


def _identity(row_no: int, cell: Callable[[str], str], columns: Mapping[str, int]) -> UUID | dict[str, Any]:
    """The row's child id, or what the registry is asked, or a row error."""
    if cell("child_id"):
        try:
            return uuid.UUID(cell("child_id"))
        except ValueError:
            return row_error(row_no, "儿童编号", "儿童编号不对，请从名单或档案导出中复制 / not a child id")
    if cell("national_id"):
        return {"national_id": cell("national_id")}
    if "national_id" not in columns and cell("name") and cell("birth_date"):
        # Only on a sheet without an ID column: where a sheet has one, an empty ID cell is a
        # fault to correct, not a cue to guess by name.
        return {"name": cell("name"), "birth_date": cell("birth_date")}
    if "national_id" in columns:
        missing = "身份证号"
    elif "child_id" in columns:
        missing = "儿童编号"
    else:
        missing = "出生日期" if cell("name") else "姓名"
    return row_error(row_no, missing, f"{missing}为空 / the {missing} cell is empty")


def read_distribution_rows(rows: list[list[Any]]) -> tuple[list[SheetRow], list[dict[str, Any]]]:
    """A sheet's rows (shared/sheet_reading.read_rows) → its distribution rows and, for each
    fault, {"field", "row", "column", "reason"}. The header is the first of the first ten
    rows that names the children: 儿童编号, 身份证号, or 姓名 and 出生日期."""
    header_index = next((index for index, row in enumerate(rows[:HEADER_ROWS])
                         if _names_children({key for cell in row if (key := _column_of(cell))})), None)
    if header_index is None:
        return [], [{"field": "file", "reason": "前10行中没有“儿童编号”“身份证号”或“姓名”和“出生日期”列 / no 儿童编号, "
                                                "身份证号, or 姓名 and 出生日期 column in the first ten rows"}]
    columns: dict[str, int] = {}
    for index, header in enumerate(rows[header_index]):
        key = _column_of(header)
        if key is not None:
            columns.setdefault(key, index)
    read: list[SheetRow] = []
    errors: list[dict[str, Any]] = []
    for offset, row in enumerate(rows[header_index + 1:]):
        row_no = header_index + 2 + offset

        def cell(key: str) -> str:
            index = columns.get(key)
            return "" if index is None or index >= len(row) else _text(row[index])
        if not any(_text(value) for value in row):
            continue
        named = _identity(row_no, cell, columns)
        if isinstance(named, dict) and "reason" in named:
            errors.append(named)
            continue
        amount: int | None = None
        if cell("amount"):
            try:
                amount = _fen(cell("amount"))
            except ValueError as bad:
                errors.append(row_error(row_no, "金额", str(bad)))
                continue
        receipt = cell("receipt_no") or None
        if receipt is not None and len(receipt) > 64:
            errors.append(row_error(row_no, "收据号", "收据号最多64字 / at most 64 characters"))
            continue
        if isinstance(named, UUID):
            read.append(SheetRow(row_no, named, amount, receipt))
        else:
            read.append(SheetRow(row_no, None, amount, receipt, identity=named))
    if not read and not errors:
        errors.append({"field": "file", "reason": "表格没有数据行 / the sheet has no data rows"})
    return read, errors


def resolved_rows(rows: list[SheetRow], results: list[Mapping[str, Any]]) -> tuple[list[SheetRow], list[dict[str, Any]]]:
    """The rows the registry was asked about (in order, one result each) → the same rows with
    their child ids, and a row error for each the registry could not name: a value it cannot
    read (an ID whose check digit or region code is wrong), nobody, or more than one child."""
    named: list[SheetRow] = []
    errors: list[dict[str, Any]] = []
    for row, result in zip(rows, results, strict=True):
        by_id = "national_id" in (row.identity or {})
        column = "身份证号" if by_id else "姓名"
        if result.get("field"):
            column = COLUMN_WORDS.get(str(result["field"]), column)
            errors.append(row_error(row.row_no, column, str(result.get("reason") or "无法识别 / cannot be read")))
        elif result.get("child_id") is not None and result.get("matches") == 1:
            named.append(replace(row, child_id=uuid.UUID(str(result["child_id"]))))
        elif int(result.get("matches") or 0) > 1:
            errors.append(row_error(row.row_no, column, "本辖区内有多名儿童姓名和出生日期都相同，请改填身份证号或儿童编号 / "
                                                        "more than one child in your area has this name and birth date; "
                                                        "give the 身份证号 or 儿童编号"))
        else:
            errors.append(row_error(row.row_no, column, (
                "本辖区内查无此身份证号的儿童档案 / no child with this 身份证号 in your area" if by_id else
                "本辖区内查无此姓名和出生日期的儿童档案 / no child with this name and birth date in your area")))
    return named, errors

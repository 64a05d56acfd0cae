"""Aid programmes (资助项目), pure rules: the term a distribution counts in, a programme
once per child per term, the budget, and reading a distribution sheet's rows. No I/O."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping
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


def duplicate_rows(rows: Iterable[tuple[int, UUID]], given: set[UUID]) -> list[dict[str, Any]]:
    """Rows whose child already had the programme this term (or appears twice in the list):
    each named by its row, as a 422's errors list."""
    seen: dict[UUID, int] = {}
    errors: list[dict[str, Any]] = []
    for row_no, child_id in rows:
        if child_id in given:
            errors.append({"field": f"row {row_no}", "reason": "本学期已领取过此项目 / already given this term"})
        elif child_id in seen:
            errors.append({"field": f"row {row_no}",
                           "reason": f"与第{seen[child_id]}行是同一儿童 / the same child as row {seen[child_id]}"})
        else:
            seen[child_id] = row_no
    return errors


# -- the distribution sheet --------------------------------------------------------------

# Headers a sheet may use for each column (first line of the header cell, as the printed
# receipt sheet writes them); other columns (姓名, 签名 …) are for people and are not read.
SHEET_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "child_id": ("儿童编号", "child id"),
    "amount": ("金额（元）", "金额(元)", "金额", "amount"),
    "receipt_no": ("收据号", "收据编号", "receipt"),
}
HEADER_ROWS = 10  # a title or notes may come before the header


@dataclass(frozen=True)
class SheetRow:
    row_no: int          # the sheet's own row number
    child_id: UUID
    amount_fen: int | None
    receipt_no: str | None


def _column_of(cell: Any) -> str | None:
    text = re.sub(r"\s+", "", str(cell or "").split("\n", 1)[0]).lower().rstrip("*")
    for key, words in SHEET_COLUMNS.items():
        if text in (re.sub(r"\s+", "", word).lower() for word in words):
            return key
    return None


def _fen(value: Any) -> int:
    try:
        yuan = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("金额应为数字（元） / the amount is not a number of yuan") from None
    if yuan < 0 or yuan != yuan.quantize(Decimal("0.01")) or yuan > 1_000_000:
        raise ValueError("金额应为0至100万元、最多两位小数 / the amount must be 0–1,000,000 yuan, at most 2 decimals")
    return int(yuan * 100)


def read_distribution_rows(rows: list[list[Any]]) -> tuple[list[SheetRow], list[dict[str, Any]]]:
    """A sheet's rows (shared/sheet_reading.read_rows) → its distribution rows and, for each
    fault, {"field": "row N, column", "reason"}. The header is the first of the first ten rows
    that names 儿童编号."""
    header_index = next((index for index, row in enumerate(rows[:HEADER_ROWS])
                         if any(_column_of(cell) == "child_id" for cell in row)), None)
    if header_index is None:
        return [], [{"field": "file", "reason": "前10行中没有“儿童编号”列 / no 儿童编号 column in the first ten rows"}]
    columns = {key: index for index, cell in enumerate(rows[header_index])
               if (key := _column_of(cell)) is not None}
    read: list[SheetRow] = []
    errors: list[dict[str, Any]] = []
    for offset, row in enumerate(rows[header_index + 1:]):
        row_no = header_index + 2 + offset

        def cell(key: str) -> str:
            index = columns.get(key)
            return "" if index is None or index >= len(row) else str(row[index] or "").strip()
        if not any(str(value or "").strip() for value in row):
            continue
        try:
            child_id = uuid.UUID(cell("child_id"))
        except ValueError:
            errors.append({"field": f"row {row_no}, 儿童编号", "reason": "儿童编号不对，请从名单或档案导出中复制 / "
                                                                  "not a child id"})
            continue
        amount: int | None = None
        if cell("amount"):
            try:
                amount = _fen(cell("amount"))
            except ValueError as bad:
                errors.append({"field": f"row {row_no}, 金额", "reason": str(bad)})
                continue
        receipt = cell("receipt_no") or None
        if receipt is not None and len(receipt) > 64:
            errors.append({"field": f"row {row_no}, 收据号", "reason": "收据号最多64字 / at most 64 characters"})
            continue
        read.append(SheetRow(row_no, child_id, amount, receipt))
    if not read and not errors:
        errors.append({"field": "file", "reason": "表格没有数据行 / the sheet has no data rows"})
    return read, errors

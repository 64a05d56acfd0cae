"""One list shape for every service: `{"items": [...], "next_cursor": "<opaque>" | null,
"total": <int> | null}`, asked for with `limit` and `cursor`.

A client follows `next_cursor` until it is null and so sees every row: `limit` bounds a
page, never the list. The cursor is opaque to clients (base64url of a small JSON array) and
carries either a keyset position (the sort key of the last row shown: stable under
concurrent inserts, cheap at any depth) or, for short lists sorted in Python, an offset.
A cursor a client made up or damaged is a 422 on `query.cursor`, never a 500.

A route takes `page: Annotated[PageRequest, Depends(paged())]`, hands `page.after(...)` and
`page.fetch` (one row more than the page, to know whether another follows) to its store
function, and returns `page.keyset(rows, key)`; a short list held in memory returns
`page.of_sequence(items)`."""

# No `from __future__ import annotations`: FastAPI reads the nested dependency's
# annotations, which name `maximum` from the enclosing call.
import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Callable, Generic, Sequence, TypeVar
from uuid import UUID

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from shared.rules import RuleViolation

T = TypeVar("T")
Row = TypeVar("Row")

CURSOR_FIELD = "query.cursor"
_MAX_CURSOR = 512
_NOT_OURS = "not a cursor this list gave out; start again without one"


class Page(BaseModel, Generic[T]):
    """A page of a list; follow `next_cursor` to the end to read every item."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="pass as `cursor` for the next page; null on the last page")
    total: int | None = Field(
        default=None, description="how many items the whole list has, where that is cheap to say; else null")


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [value.isoformat() if isinstance(value, (date, datetime)) else
             str(value) if isinstance(value, UUID) else value for value in values]
    raw = json.dumps(plain, separators=(",", ":"), ensure_ascii=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _convert(value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(value, str):
        if kind is str:
            return value
        if kind is UUID:
            return UUID(value)
        if kind is datetime:
            return datetime.fromisoformat(value)
        if kind is date:
            return date.fromisoformat(value)
    raise ValueError(kind)


def decode_cursor(cursor: str, *kinds: type) -> tuple[Any, ...]:
    """The values `encode_cursor` was given, converted to `kinds`; anything else is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("shape")
        return tuple(_convert(value, kind) for value, kind in zip(values, kinds))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise RuleViolation(CURSOR_FIELD, _NOT_OURS) from None


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None = None

    @property
    def fetch(self) -> int:
        """How many rows to ask the store for: one more than a page shows."""
        return self.limit + 1

    def after(self, *kinds: type) -> tuple[Any, ...] | None:
        """The keyset position to continue after (the last row's sort key), or None on the
        first page."""
        return None if self.cursor is None else decode_cursor(self.cursor, *kinds)

    def offset(self) -> int:
        if self.cursor is None:
            return 0
        (value,) = decode_cursor(self.cursor, int)
        if value < 0:
            raise RuleViolation(CURSOR_FIELD, _NOT_OURS)
        return int(value)

    def keyset(self, rows: Sequence[Row], key: Callable[[Row], Sequence[Any]],
               items: Sequence[Any] | None = None, total: int | None = None) -> dict[str, Any]:
        """The page from rows fetched in key order with `limit=page.fetch`. `items` are the
        rows as shown, when the route transforms them (same order, at least `limit`)."""
        shown = list(items if items is not None else rows)[: self.limit]
        more = len(rows) > self.limit
        next_cursor = encode_cursor(key(rows[self.limit - 1])) if more else None
        return {"items": shown, "next_cursor": next_cursor, "total": total}

    def of_sequence(self, everything: Sequence[Any]) -> dict[str, Any]:
        """A page of a list already held in memory (short lists sorted in Python)."""
        start = self.offset()
        end = start + self.limit
        next_cursor = encode_cursor([end]) if end < len(everything) else None
        return {"items": list(everything[start:end]), "next_cursor": next_cursor, "total": len(everything)}

    def offset_page(self, rows: Sequence[Any], items: Sequence[Any] | None = None,
                    total: int | None = None) -> dict[str, Any]:
        """The page from rows fetched with `OFFSET page.offset() LIMIT page.fetch` (lists
        ordered by a score, where no keyset exists)."""
        shown = list(items if items is not None else rows)[: self.limit]
        more = len(rows) > self.limit
        next_cursor = encode_cursor([self.offset() + self.limit]) if more else None
        return {"items": shown, "next_cursor": next_cursor, "total": total}


def paged(default: int = 100, maximum: int = 500) -> Callable[..., PageRequest]:
    """The `limit` and `cursor` query parameters as one dependency."""

    def page_request(
        limit: Annotated[int, Query(ge=1, le=maximum, description=f"items per page (at most {maximum})")] = default,
        cursor: Annotated[str | None, Query(
            max_length=_MAX_CURSOR, pattern=r"^[A-Za-z0-9_\-]+$",
            description="`next_cursor` of the previous page; omit for the first")] = None,
    ) -> PageRequest:
        return PageRequest(limit=limit, cursor=cursor)

    return page_request


def empty_page() -> dict[str, Any]:
    return {"items": [], "next_cursor": None, "total": 0}


def keyset_after(order: Sequence[tuple[str, str]], params: Sequence[str]) -> str:
    """A SQL condition: the row sorts after the position `params` (placeholders such as
    `$4`) in `ORDER BY` `order` — pairs of a non-null column or expression and "asc" or
    "desc", the last one unique (an id). Mixed directions are why this is not a row
    comparison."""
    (column, direction), *rest = order
    if direction not in ("asc", "desc"):
        raise ValueError(direction)
    beyond = f"{column} {'>' if direction == 'asc' else '<'} {params[0]}"
    if not rest:
        return beyond
    return f"({beyond} OR ({column} = {params[0]} AND {keyset_after(rest, params[1:])}))"


# The usual page: 100 items by default, at most 500.
Paging = Annotated[PageRequest, Depends(paged())]

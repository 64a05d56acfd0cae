"""An upload's rows, stored with its import job.

The api reads every upload (to refuse a bad file at once and count its rows); what it read
is stored with the job, so the worker does not parse the file a second time (reading a
100,000-row XLSX takes seconds, and nothing else can start before it ends). JSON lines:
the column mapping (and the sheet's row number of the first data row, which a title above
the header moves down), then one line per data row. JSON keeps str, int, float, bool and None
as they are (an ID typed into a number cell stays a number, and is refused as such);
dates and times, which calamine returns for date cells, travel as tagged objects.
JSON rather than pickle: the bytes come back from the database.
"""

from __future__ import annotations

import datetime
import json
import zlib
from typing import Any, Callable

from services.registry.sheets import Sheet

_TAGS: dict[type, tuple[str, Callable[[Any], Any]]] = {
    datetime.datetime: ("$datetime", datetime.datetime.isoformat),
    datetime.date: ("$date", datetime.date.isoformat),
    datetime.time: ("$time", datetime.time.isoformat),
    datetime.timedelta: ("$timedelta", datetime.timedelta.total_seconds),
}
_UNTAG: dict[str, Callable[[Any], Any]] = {
    "$datetime": datetime.datetime.fromisoformat, "$date": datetime.date.fromisoformat,
    "$time": datetime.time.fromisoformat, "$timedelta": lambda seconds: datetime.timedelta(seconds=seconds),
}


def _tagged(cell: Any) -> Any:
    tag = _TAGS.get(type(cell))
    return cell if tag is None else {tag[0]: tag[1](cell)}


def encode_stored_rows(sheet: Sheet) -> bytes:
    dumps = json.JSONEncoder(ensure_ascii=False, default=_tagged).encode
    lines = [dumps({"columns": sheet.columns, "first_row": sheet.first_row})]
    lines.extend(dumps(row) for row in sheet.rows)
    # Compressed (fast level): JSON of 100,000 rows is some 30 MB, which would otherwise go
    # through the WAL and PostgreSQL's slower TOAST compression.
    return zlib.compress("\n".join(lines).encode(), 1)


def _head(line: bytes) -> tuple[dict[str, int], int]:
    head = json.loads(line)
    if isinstance(head.get("columns"), dict):
        return head["columns"], head["first_row"]
    return head, 2  # stored before the header could be below row 1: the mapping alone


def with_columns(stored: bytes, columns: dict[str, int]) -> bytes:
    """The stored rows read with other columns (a confirmed mapping): only the first line changes."""
    lines = zlib.decompress(stored).split(b"\n", 1)
    _old, first_row = _head(lines[0])
    header = json.dumps({"columns": columns, "first_row": first_row}, ensure_ascii=False).encode()
    return zlib.compress(header + (b"\n" + lines[1] if len(lines) > 1 else b""), 1)


def stored_columns_and_lines(stored: bytes) -> tuple[dict[str, int], list[bytes], int]:
    """The column mapping, the still-encoded row lines (decoded batch by batch, where the
    batch is prepared) and the sheet's row number of the first of them."""
    lines = zlib.decompress(stored).split(b"\n")
    columns, first_row = _head(lines[0])
    return columns, lines[1:], first_row


def _untagged(value: dict[str, Any]) -> Any:
    ((tag, payload),) = value.items()
    return _UNTAG[tag](payload)


def decode_stored_rows(lines: list[bytes]) -> list[list[Any]]:
    loads = json.JSONDecoder(object_hook=_untagged).decode
    return [loads(line.decode()) for line in lines]

"""Rows of an import whose national ID is already registered: the same child, another
child, or the same child with changes (updates by sheet, `sheet_updates`).

Runs in the worker, inside the batch's transaction, for the few rows the fast path set
aside (a fresh sheet has none): each is read again from the job's rows and compared with
the stored record, decrypted here.

- another child holds the ID (name or birth date differ): a conflict in the report;
- the same child outside the uploader's scope, or with nothing to change: "existing";
- the same child with changes: an `import_changes` row (the new values encrypted, bound to
  the change's id), proposed until a clerk confirms it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.registry import privacy, sheet_updates, store_imports, stored_rows
from services.registry.divisions import DivisionRegister
from services.registry.encrypted_columns import IMPORT_CHANGE
from services.registry.import_rows import parse_row
from services.registry.sheets import row_cells
from shared.crypto import FieldCipher

ALREADY_REGISTERED = "该身份证号已建档，未重复导入 / this national ID is already registered; not imported again"
CONFLICT = ("该身份证号已登记给另一名儿童（姓名或出生日期不同），请核对身份证号 / this national ID is registered "
            "for another child (the name or birth date differ); check the ID")


@dataclass(frozen=True)
class JobRows:
    """What is needed to read one of the job's rows again."""
    columns: dict[str, int]
    rows: list[Any]
    stored: bool           # rows as the api stored them (compressed JSON lines)
    today: date
    divisions: DivisionRegister
    default_county: str | None
    first_row: int = 2  # the sheet's row number of rows[0]

    def read(self, row_number: int) -> tuple[Any, dict[str, Any]]:
        row = self.rows[row_number - self.first_row]
        if self.stored:
            row = stored_rows.decode_stored_rows([row])[0]
        raw = row_cells(self.columns, row)
        return parse_row(row_number, raw, uuid4(), self.today, self.divisions, self.default_county).child, raw


@dataclass
class Matches:
    existing: list[tuple[int, str, str]] = field(default_factory=list)
    conflicts: list[tuple[int, str, str]] = field(default_factory=list)
    changes: int = 0


async def match_registered(conn: asyncpg.Connection, *, job_id: UUID, scope_prefix: str, cipher: FieldCipher,
                           job_rows: JobRows, rows: list[tuple[int, str]]) -> Matches:
    """`rows`: (sheet row, national ID blind index) of the rows not inserted."""
    matches = Matches()
    if not rows:
        return matches
    stored = {record["national_id_index"]: record
              for record in await store_imports.children_by_indexes(conn, [index for _row, index in rows])}
    proposed = []
    for row_number, index in rows:
        record = stored.get(index)
        sheet_child, raw = job_rows.read(row_number)
        if record is None or sheet_child is None:  # cannot happen for a row that was prepared; be safe
            matches.existing.append((row_number, "national_id", ALREADY_REGISTERED))
            continue
        current = privacy.open_record(record, cipher)
        if not sheet_updates.same_child(current, sheet_child):
            matches.conflicts.append((row_number, "national_id", CONFLICT))
            continue
        in_scope = (record["village_code"] or record["township_code"]).startswith(scope_prefix)
        changes = sheet_updates.proposed_changes(current, sheet_child, raw) if in_scope else []
        if not changes:
            matches.existing.append((row_number, "national_id", ALREADY_REGISTERED))
            continue
        change_id = uuid4()
        sealed = cipher.encrypt(json.dumps(changes, ensure_ascii=False, default=str),
                                context=IMPORT_CHANGE.context(change_id))
        proposed.append((change_id, job_id, row_number, record["id"], record["version"], sealed,
                         sheet_updates.changed_fields(changes)))
    await store_imports.add_changes(conn, proposed)
    matches.changes = len(proposed)
    return matches

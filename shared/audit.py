"""The two append-only trails every service keeps (shared/migrations/0020): `read_audit`,
one row per read that showed sensitive fields in clear, and `change_history`, written by a
database trigger on every change to a record people write. Statements for both live here."""

from __future__ import annotations

from typing import Any, Iterable
from uuid import UUID

import asyncpg

from shared.auth import Principal
from shared.request_context import current_request_id


async def record_read(conn: asyncpg.Connection, *, subject: str, roles: Iterable[str], action: str,
                      record_kind: str, record_ids: list[UUID], fields: Iterable[str], purpose: str) -> None:
    """One audit row, in the caller's transaction (the read and its record commit together)."""
    await conn.execute(
        """INSERT INTO read_audit (subject, roles, action, record_kind, record_ids, fields, purpose, request_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        subject, sorted(roles), action, record_kind, record_ids, sorted(set(fields)), purpose, current_request_id())


async def record_principal_read(conn: asyncpg.Connection, principal: Principal, *, action: str, record_kind: str,
                                record_ids: list[UUID], fields: Iterable[str], purpose: str) -> None:
    await record_read(conn, subject=principal.subject, roles=principal.roles, action=action,
                      record_kind=record_kind, record_ids=record_ids, fields=fields, purpose=purpose)


async def history_page(conn: asyncpg.Connection, *, record_kind: str, record_id: str, scope_prefix: str,
                       after_id: int, limit: int) -> list[asyncpg.Record]:
    """A record's changes, oldest first, from the rows whose record lies in the caller's scope
    (a row without a place is the whole country's: only a national scope sees it)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT id, record_kind, record_id, operation, fields, jurisdiction, actor_subject, actor_roles,
                  actor_jurisdiction, request_id, changed_at
             FROM change_history
            WHERE record_kind = $1 AND record_id = $2 AND id > $3
              AND coalesce(jurisdiction, '') LIKE $4 || '%'
            ORDER BY id LIMIT $5""",
        record_kind, record_id, after_id, scope_prefix, limit)
    return rows


def history_item(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "record_kind": row["record_kind"], "record_id": row["record_id"],
            "operation": row["operation"], "fields": list(row["fields"]), "jurisdiction": row["jurisdiction"],
            "actor": {"subject": row["actor_subject"], "roles": list(row["actor_roles"]),
                      "jurisdiction": row["actor_jurisdiction"]},
            "request_id": row["request_id"], "changed_at": row["changed_at"].isoformat()}

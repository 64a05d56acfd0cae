"""SQL for concerns and their escalations."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import asyncpg

from shared.pagination import keyset_after


async def insert_concern(conn: asyncpg.Connection, values: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO concerns (id, contact_id, child_id, category, severity, mandatory_report, detail_enc,
                                 raised_at, county_code, township_code, village_code)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        values["id"], values["contact_id"], values["child_id"], values["category"], values["severity"],
        values["mandatory_report"], values["detail_enc"], values["raised_at"], values["county_code"],
        values["township_code"], values["village_code"])


# A concern lies in a school when the contact that raised it was logged there.
_IN_SCHOOL = "EXISTS (SELECT 1 FROM contacts c WHERE c.id = concerns.contact_id AND c.school_id = {p})"


async def get_concern(conn: asyncpg.Connection, concern_id: UUID, scope_prefix: str, *,
                      for_update: bool = False, school_id: str | None = None) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT * FROM concerns WHERE id = $1 AND coalesce(village_code, township_code) LIKE $2 || '%'
              AND ($3::text IS NULL OR {_IN_SCHOOL.format(p='$3')})
            {"FOR UPDATE" if for_update else ""}""", concern_id, scope_prefix, school_id)


# How concern lists are sorted (open first, mandatory reports first, newest first); their
# cursors hold these four values.
CONCERN_ORDER = (("(status = 'open')", "desc"), ("mandatory_report", "desc"), ("raised_at", "desc"), ("id", "asc"))


async def list_concerns(conn: asyncpg.Connection, *, scope_prefix: str, status: str | None,
                        township_code: str | None, child_id: UUID | None, limit: int,
                        after: tuple[bool, bool, datetime, UUID] | None = None,
                        school_id: str | None = None) -> list[asyncpg.Record]:
    after_clause = keyset_after(CONCERN_ORDER, ["$7", "$8", "$9", "$10"]) if after else "$7::bool IS NULL"
    order = ", ".join(f"{column} {direction}" for column, direction in CONCERN_ORDER)
    return await conn.fetch(
        f"""SELECT * FROM concerns
            WHERE coalesce(village_code, township_code) LIKE $1 || '%'
              AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR township_code = $3)
              AND ($4::uuid IS NULL OR child_id = $4) AND ($6::text IS NULL OR {_IN_SCHOOL.format(p='$6')})
              AND {after_clause}
            ORDER BY {order} LIMIT $5""",
        scope_prefix, status, township_code, child_id, limit, school_id, *(after or (None,)))


async def acknowledge(conn: asyncpg.Connection, concern_id: UUID, *, by: str, at: datetime,
                      referred_to: list[str], note_enc: str | None, deadline: datetime | None) -> asyncpg.Record:
    """Acknowledged: the case begins, with the deadline for referring (or closing) it."""
    row = await conn.fetchrow(
        """UPDATE concerns SET status = 'acknowledged', acknowledged_by = $2, acknowledged_at = $3,
                               referred_to = $4, ack_note_enc = $5, state_changed_at = $3,
                               state_deadline = $6, deadline_level = 0, version = version + 1
            WHERE id = $1 RETURNING *""", concern_id, by, at, referred_to, note_enc, deadline)
    await conn.execute(
        """INSERT INTO concern_history (concern_id, state, entered_at, entered_by, deadline)
           VALUES ($1, 'acknowledged', $2, $3, $4)""", concern_id, at, by, deadline)
    return row


async def claim_unacknowledged(conn: asyncpg.Connection, *, raised_before: datetime,
                               after: tuple[datetime, UUID] | None, limit: int) -> list[asyncpg.Record]:
    """Open concerns still at township level raised before the earliest possible deadline,
    paged on (raised_at, id); the caller decides per severity. Locked so that one replica
    escalates each."""
    cursor_at, cursor_id = after or (datetime(1970, 1, 1, tzinfo=timezone.utc), UUID(int=0))
    return await conn.fetch(
        """SELECT * FROM concerns
            WHERE status = 'open' AND escalation_level = 'township' AND raised_at <= $1
              AND (raised_at, id) > ($2, $3)
            ORDER BY raised_at, id LIMIT $4 FOR UPDATE SKIP LOCKED""", raised_before, cursor_at, cursor_id, limit)


async def record_escalation(conn: asyncpg.Connection, concern_id: UUID, level: str, at: datetime) -> bool:
    """False when this concern reached this level before (the escalation is not repeated)."""
    inserted = await conn.fetchval(
        """INSERT INTO concern_escalations (concern_id, level, escalated_at) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING true""", concern_id, level, at)
    if inserted:
        await conn.execute("UPDATE concerns SET escalation_level = $2, version = version + 1 WHERE id = $1",
                           concern_id, level)
    return bool(inserted)

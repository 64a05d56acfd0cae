"""SQL for a concern's case: the agencies of each county, referrals and acceptances, dated
follow-up notes, state changes with their deadlines and history, and missed deadlines."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

import asyncpg


async def agencies(conn: asyncpg.Connection, county_code: str) -> list[asyncpg.Record]:
    """The county's agencies: its own rows, and the defaults it has not overridden."""
    return await conn.fetch(
        """SELECT DISTINCT ON (code) code, name, kind, active, version, updated_by, updated_at,
                  CASE WHEN county_code = '' THEN 'default' ELSE county_code END AS defined_by
             FROM referral_agencies WHERE county_code IN ('', $1)
            ORDER BY code, county_code DESC""", county_code)


async def agency_row(conn: asyncpg.Connection, county_code: str, code: str, *,
                     for_update: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT * FROM referral_agencies WHERE county_code = $1 AND code = $2
            {"FOR UPDATE" if for_update else ""}""", county_code, code)


async def put_agency(conn: asyncpg.Connection, *, county_code: str, code: str, name: str, kind: str,
                     active: bool, by: str, at: datetime) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO referral_agencies (county_code, code, name, kind, active, updated_by, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (county_code, code) DO UPDATE
              SET name = $3, kind = $4, active = $5, updated_by = $6, updated_at = $7,
                  version = referral_agencies.version + 1
           RETURNING *""", county_code, code, name, kind, active, by, at)


async def referrals(conn: asyncpg.Connection, concern_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM concern_referrals WHERE concern_id = $1 ORDER BY referred_at, agency_code", concern_id)


async def add_referrals(conn: asyncpg.Connection, concern_id: UUID, agencies_named: list[tuple[str, str]], *,
                        at: datetime, by: str) -> None:
    await conn.executemany(
        """INSERT INTO concern_referrals (concern_id, agency_code, agency_name, referred_at, referred_by)
           VALUES ($1, $2, $3, $4, $5)""", [(concern_id, code, name, at, by) for code, name in agencies_named])


async def accept_referral(conn: asyncpg.Connection, concern_id: UUID, agency_code: str, *, at: datetime, by: str,
                          case_number: str) -> None:
    await conn.execute(
        """UPDATE concern_referrals SET accepted_at = $3, accepted_by = $4, case_number = $5
            WHERE concern_id = $1 AND agency_code = $2""", concern_id, agency_code, at, by, case_number)


async def add_note(conn: asyncpg.Connection, *, note_id: UUID, concern_id: UUID, noted_on: date, note_enc: str,
                   by: str, at: datetime) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO concern_notes (id, concern_id, noted_on, note_enc, written_by, written_at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""", note_id, concern_id, noted_on, note_enc, by, at)


async def notes(conn: asyncpg.Connection, concern_id: UUID, *, after: tuple[date, UUID] | None,
                limit: int) -> list[asyncpg.Record]:
    """Newest first, paged on (noted_on, id) descending."""
    cursor_on, cursor_id = after or (date.max, UUID(int=(1 << 128) - 1))
    return await conn.fetch(
        """SELECT * FROM concern_notes WHERE concern_id = $1 AND (noted_on, id) < ($2, $3)
            ORDER BY noted_on DESC, id DESC LIMIT $4""", concern_id, cursor_on, cursor_id, limit)


async def count_notes(conn: asyncpg.Connection, concern_id: UUID) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM concern_notes WHERE concern_id = $1", concern_id))


async def history(conn: asyncpg.Connection, concern_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM concern_history WHERE concern_id = $1 ORDER BY id", concern_id)


async def enter_state(conn: asyncpg.Connection, concern_id: UUID, *, state: str, at: datetime, by: str,
                      deadline: datetime | None, extra: dict[str, Any] | None = None,
                      new_state: bool = True) -> asyncpg.Record:
    """The concern enters `state` (or, `new_state` false, stays in it with a new deadline):
    the deadline's ladder starts again; the history records a new state. `extra` sets
    closing columns."""
    extra = extra or {}
    row = await conn.fetchrow(
        """UPDATE concerns SET status = $2, state_changed_at = $3, state_deadline = $4, deadline_level = 0,
                  outcome = coalesce($5, outcome), closed_by = coalesce($6, closed_by),
                  closed_at = coalesce($7, closed_at), closure_note_enc = coalesce($8, closure_note_enc),
                  version = version + 1
            WHERE id = $1 RETURNING *""",
        concern_id, state, at, deadline, extra.get("outcome"), extra.get("closed_by"), extra.get("closed_at"),
        extra.get("closure_note_enc"))
    if new_state:
        await record_history(conn, concern_id, state=state, at=at, by=by, deadline=deadline)
    return row


async def record_history(conn: asyncpg.Connection, concern_id: UUID, *, state: str, at: datetime, by: str,
                         deadline: datetime | None) -> None:
    await conn.execute(
        """INSERT INTO concern_history (concern_id, state, entered_at, entered_by, deadline)
           VALUES ($1, $2, $3, $4, $5)""", concern_id, state, at, by, deadline)


async def touch(conn: asyncpg.Connection, concern_id: UUID) -> asyncpg.Record:
    """A change that leaves state and deadline as they are (a second agency, a note while
    referred) still changes the record's version."""
    return await conn.fetchrow("UPDATE concerns SET version = version + 1 WHERE id = $1 RETURNING *", concern_id)


async def claim_missed_deadlines(conn: asyncpg.Connection, *, at: datetime, county_cutoff: datetime,
                                 after: tuple[datetime, UUID] | None, limit: int) -> list[asyncpg.Record]:
    """Cases whose deadline has passed and whose ladder has a rung still to announce (the
    township once the deadline passed, the county once `county_cutoff` is past it), paged on
    (state_deadline, id) and locked so that one replica announces each."""
    cursor_at, cursor_id = after or (datetime(1970, 1, 1, tzinfo=timezone.utc), UUID(int=0))
    return await conn.fetch(
        """SELECT * FROM concerns
            WHERE state_deadline IS NOT NULL AND deadline_level < 2 AND status NOT IN ('open', 'closed')
              AND state_deadline <= $1
              AND (deadline_level = 0 OR state_deadline <= $2)
              AND (state_deadline, id) > ($3, $4)
            ORDER BY state_deadline, id LIMIT $5 FOR UPDATE SKIP LOCKED""",
        at, county_cutoff, cursor_at, cursor_id, limit)


async def set_deadline_level(conn: asyncpg.Connection, concern_id: UUID, level: int) -> None:
    await conn.execute("UPDATE concerns SET deadline_level = $2 WHERE id = $1", concern_id, level)


async def all_notes(conn: asyncpg.Connection, concern_id: UUID) -> list[asyncpg.Record]:
    """Oldest first, for the printed form."""
    return await conn.fetch(
        "SELECT * FROM concern_notes WHERE concern_id = $1 ORDER BY noted_on, written_at, id", concern_id)


async def contact_kind(conn: asyncpg.Connection, contact_id: UUID) -> str | None:
    return await conn.fetchval("SELECT kind FROM contacts WHERE id = $1", contact_id)

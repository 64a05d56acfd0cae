"""SQL for children's plans, their review dates (each an owner's duty) and progress notes."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

import asyncpg

_DUTY_FIELDS = """d.id, d.child_id, d.caregiver_id, d.duty_kind, d.due_on, d.county_code, d.township_code,
                  d.village_code, d.school_id"""


async def active_pairing(conn: asyncpg.Connection, child_id: UUID, caregiver_id: UUID, day: date) -> UUID | None:
    """The caregiver's pairing with the child running on `day` (lead or helper)."""
    return await conn.fetchval(
        """SELECT id FROM pairings WHERE child_id = $1 AND caregiver_id = $2 AND started_on <= $3
              AND (ended_on IS NULL OR ended_on >= $3) ORDER BY role = 'lead' DESC, id LIMIT 1""",
        child_id, caregiver_id, day)


async def insert_plan(conn: asyncpg.Connection, values: dict[str, Any]) -> asyncpg.Record:
    columns = list(values)
    return await conn.fetchrow(
        f"""INSERT INTO plans ({", ".join(columns)}) VALUES ({", ".join(f"${i + 1}" for i in range(len(columns)))})
            RETURNING *""", *values.values())


async def add_review(conn: asyncpg.Connection, plan: asyncpg.Record, due_on: date, *, window_start: date,
                     duty_id: UUID) -> asyncpg.Record | None:
    """The review date and the owner's plan_review duty; None when that owner's pairing has
    a review duty starting that day already (another plan of the child)."""
    duty = await conn.fetchrow(
        f"""INSERT INTO duties AS d (id, pairing_id, child_id, caregiver_id, duty_kind, period_start, due_on,
                                     county_code, township_code, village_code, school_id, own_contacts_only)
            VALUES ($1, $2, $3, $4, 'plan_review', $5, $6, $7, $8, $9, $10, true)
            ON CONFLICT (pairing_id, duty_kind, period_start) WHERE duty_kind <> 'follow_up' DO NOTHING
            RETURNING {_DUTY_FIELDS}, d.period_start""",
        duty_id, plan["owner_pairing_id"], plan["child_id"], plan["owner_caregiver_id"], window_start, due_on,
        plan["county_code"], plan["township_code"], plan["village_code"], plan["school_id"])
    if duty is None:
        return None
    await conn.execute("INSERT INTO plan_reviews (plan_id, due_on, duty_id) VALUES ($1, $2, $3)",
                       plan["id"], due_on, duty_id)
    return duty


async def get_plan(conn: asyncpg.Connection, plan_id: UUID, *, for_update: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT * FROM plans WHERE id = $1 {'FOR UPDATE' if for_update else ''}", plan_id)


async def reviews(conn: asyncpg.Connection, plan_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT r.*, d.status AS duty_status FROM plan_reviews r JOIN duties d ON d.id = r.duty_id
            WHERE r.plan_id = $1 ORDER BY r.due_on""", plan_id)


async def mark_reviewed(conn: asyncpg.Connection, plan_id: UUID, due_on: date, *, note_id: UUID, by: str,
                        at: datetime) -> asyncpg.Record | None:
    """The review is done: its duty is fulfilled by the note. None when there is no open
    review that day."""
    review = await conn.fetchrow(
        """UPDATE plan_reviews SET reviewed_at = $3, reviewed_by = $4
            WHERE plan_id = $1 AND due_on = $2 AND reviewed_at IS NULL RETURNING duty_id""",
        plan_id, due_on, at, by)
    if review is None:
        return None
    return await conn.fetchrow(
        f"""UPDATE duties d SET status = 'fulfilled', fulfilled_by = $2, fulfilled_at = $3
             WHERE d.id = $1 AND d.status = 'open' RETURNING {_DUTY_FIELDS}, d.fulfilled_by, d.fulfilled_at""",
        review["duty_id"], note_id, at)


async def add_note(conn: asyncpg.Connection, *, note_id: UUID, plan_id: UUID, noted_on: date, note_enc: str,
                   by: str, at: datetime) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO plan_notes (id, plan_id, noted_on, note_enc, written_by, written_at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""", note_id, plan_id, noted_on, note_enc, by, at)


async def notes(conn: asyncpg.Connection, plan_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM plan_notes WHERE plan_id = $1 ORDER BY noted_on DESC, id DESC", plan_id)


async def close_plan(conn: asyncpg.Connection, plan_id: UUID, *, result: str, note_enc: str | None, by: str,
                     at: datetime) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    """Closed with its result; review duties still open are cancelled (returned for their events)."""
    row = await conn.fetchrow(
        """UPDATE plans SET status = 'closed', result = $2, result_note_enc = $3, closed_by = $4, closed_at = $5,
                            version = version + 1 WHERE id = $1 RETURNING *""", plan_id, result, note_enc, by, at)
    cancelled = await conn.fetch(
        f"""UPDATE duties d SET status = 'cancelled' FROM plan_reviews r
             WHERE r.plan_id = $1 AND d.id = r.duty_id AND d.status = 'open' RETURNING {_DUTY_FIELDS}""", plan_id)
    return row, cancelled


async def list_plans(conn: asyncpg.Connection, *, scope_prefix: str | None, caregiver_id: UUID | None,
                     child_id: UUID | None, status: str | None, after: tuple[datetime, UUID] | None,
                     limit: int, school_id: str | None = None) -> list[asyncpg.Record]:
    """Staff: plans in their jurisdiction (a school's staff: that school's children); a
    caregiver (`caregiver_id`): plans of children paired with them now. Newest first, paged
    on (created_at, id) descending."""
    cursor_at, cursor_id = after or (datetime(9999, 1, 1, tzinfo=timezone.utc), UUID(int=(1 << 128) - 1))
    return await conn.fetch(
        """SELECT * FROM plans p
            WHERE ($1::text IS NULL OR coalesce(p.village_code, p.township_code) LIKE $1 || '%')
              AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM pairings g WHERE g.child_id = p.child_id
                                                  AND g.caregiver_id = $2 AND g.ended_on IS NULL))
              AND ($3::uuid IS NULL OR p.child_id = $3) AND ($4::text IS NULL OR p.status = $4)
              AND (p.created_at, p.id) < ($5, $6) AND ($8::text IS NULL OR p.school_id = $8)
            ORDER BY p.created_at DESC, p.id DESC LIMIT $7""",
        scope_prefix, caregiver_id, child_id, status, cursor_at, cursor_id, limit, school_id)


async def paired_now(conn: asyncpg.Connection, child_id: UUID, caregiver_id: UUID) -> bool:
    return bool(await conn.fetchval(
        "SELECT true FROM pairings WHERE child_id = $1 AND caregiver_id = $2 AND ended_on IS NULL LIMIT 1",
        child_id, caregiver_id))

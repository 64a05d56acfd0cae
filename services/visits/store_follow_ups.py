"""SQL for follow-ups written on contacts with a due date: each is its caregiver's
follow_up duty, until it is marked done."""

from __future__ import annotations

from datetime import date, datetime
from typing import Sequence
from uuid import UUID

import asyncpg

_DUTY_FIELDS = """d.id, d.child_id, d.caregiver_id, d.duty_kind, d.due_on, d.county_code, d.township_code,
                  d.village_code, d.school_id"""


async def add_follow_ups(conn: asyncpg.Connection, *, contact_id: UUID, pairing_id: UUID, child: asyncpg.Record,
                         caregiver_id: UUID, owed_from: date,
                         due: Sequence[tuple[int, date, UUID]]) -> list[asyncpg.Record]:
    """Each (position, due_on, duty_id) becomes a follow_up duty of the pairing, owed from
    the contact's day (or its due date, if that came first), and a follow_ups row that
    ties it to the contact. Only the caregiver's own marking meets it (own_contacts_only).
    Returns the duties (for their DutyScheduled)."""
    if not due:
        return []
    duties = await conn.fetch(
        f"""INSERT INTO duties AS d (id, pairing_id, child_id, caregiver_id, duty_kind, period_start, due_on,
                                     county_code, township_code, village_code, school_id, own_contacts_only)
            SELECT id, $2, $3, $4, 'follow_up', least($5::date, due_on), due_on, $6, $7, $8, $9, true
              FROM unnest($1::uuid[], $10::date[]) AS f (id, due_on)
            RETURNING {_DUTY_FIELDS}, d.period_start""",
        [duty_id for _, _, duty_id in due], pairing_id, child["id"], caregiver_id, owed_from,
        child["county_code"], child["township_code"], child["village_code"], child["school_id"],
        [due_on for _, due_on, _ in due])
    await conn.execute(
        """INSERT INTO follow_ups (contact_id, position, due_on, duty_id)
           SELECT $1, * FROM unnest($2::smallint[], $3::date[], $4::uuid[])""",
        contact_id, [position for position, _, _ in due], [due_on for _, due_on, _ in due],
        [duty_id for _, _, duty_id in due])
    return duties


async def follow_up_duty_for_update(conn: asyncpg.Connection, duty_id: UUID) -> asyncpg.Record | None:
    """The follow-up behind a duty, with the duty's owner, place and status; None when the
    duty is not a follow-up."""
    return await conn.fetchrow(
        """SELECT f.contact_id, f.position, f.done_at, d.status, d.caregiver_id, d.child_id, d.county_code,
                  d.township_code, d.village_code, d.school_id
             FROM follow_ups f JOIN duties d ON d.id = f.duty_id
            WHERE f.duty_id = $1 FOR UPDATE OF f, d""", duty_id)


async def mark_done(conn: asyncpg.Connection, duty_id: UUID, *, by: str, at: datetime) -> asyncpg.Record | None:
    """The follow-up is done: its duty is fulfilled, by the contact it was written on.
    None when the duty was not open (done already, or cancelled)."""
    await conn.execute("UPDATE follow_ups SET done_at = $2, done_by = $3 WHERE duty_id = $1 AND done_at IS NULL",
                       duty_id, at, by)
    return await conn.fetchrow(
        f"""UPDATE duties d SET status = 'fulfilled', fulfilled_at = $2,
                   fulfilled_by = (SELECT contact_id FROM follow_ups WHERE duty_id = $1)
             WHERE d.id = $1 AND d.status = 'open'
            RETURNING {_DUTY_FIELDS}, d.fulfilled_by, d.fulfilled_at""", duty_id, at)


async def of_contact(conn: asyncpg.Connection, contact_id: UUID) -> dict[int, asyncpg.Record]:
    """The contact's follow-ups that became duties, by position, with their duty's state."""
    rows = await conn.fetch(
        """SELECT f.position, f.duty_id, f.done_at, d.status AS duty_status
             FROM follow_ups f JOIN duties d ON d.id = f.duty_id WHERE f.contact_id = $1""", contact_id)
    return {row["position"]: row for row in rows}


async def get_duty(conn: asyncpg.Connection, duty_id: UUID) -> asyncpg.Record:
    return await conn.fetchrow("SELECT * FROM duties WHERE id = $1", duty_id)

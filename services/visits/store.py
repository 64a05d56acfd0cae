"""SQL for the projections (children, pairings) and contacts. Functions take a
connection; callers own transactions. Duties are in store_duties, concerns in
store_concerns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Sequence
from uuid import UUID

import asyncpg

from shared.contracts import (
    ChildClosed, ChildRegistered, ChildReopened, ChildTransferred, ChildUpdated, PairingCreated, PairingEnded,
)
from shared.pagination import keyset_after

# How contact lists are sorted (newest first); their cursors hold these two values.
CONTACT_ORDER = (("c.occurred_at", "desc"), ("c.id", "asc"))

ChildFacts = ChildRegistered | ChildUpdated | ChildTransferred | ChildClosed | ChildReopened

# -- children -----------------------------------------------------------------------------


async def get_child_for_update(conn: asyncpg.Connection, child_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM children WHERE id = $1 FOR UPDATE", child_id)


async def upsert_child(conn: asyncpg.Connection, event: ChildFacts, effective_at: datetime) -> bool:
    """True when this event's facts were applied (a newer record_version than we hold).
    `effective_at` (the event's time): from when the history counts this version."""
    applied = await conn.fetchval(
        """INSERT INTO children (id, county_code, township_code, village_code, school_id, priority, status,
                                 record_version, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET
               county_code = EXCLUDED.county_code, township_code = EXCLUDED.township_code,
               village_code = EXCLUDED.village_code, school_id = EXCLUDED.school_id,
               priority = EXCLUDED.priority, status = EXCLUDED.status,
               record_version = EXCLUDED.record_version, updated_at = EXCLUDED.updated_at
           WHERE children.record_version < EXCLUDED.record_version
           RETURNING true""",
        event.child_id, event.jurisdiction.county_code, event.jurisdiction.township_code,
        event.jurisdiction.village_code, event.school_id, event.priority, event.status, event.record_version,
        effective_at,
    )
    return bool(applied)


async def get_child(conn: asyncpg.Connection, child_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM children WHERE id = $1", child_id)


async def get_child_in_scope(conn: asyncpg.Connection, child_id: UUID, scope_prefix: str, *,
                             school_id: str | None = None) -> asyncpg.Record | None:
    """None outside the jurisdiction, or outside the school when one is given."""
    return await conn.fetchrow(
        """SELECT * FROM children WHERE id = $1 AND coalesce(village_code, township_code) LIKE $2 || '%'
              AND ($3::text IS NULL OR school_id = $3)""",
        child_id, scope_prefix, school_id,
    )


# -- pairings -----------------------------------------------------------------------------


async def insert_pairing(conn: asyncpg.Connection, event: PairingCreated) -> bool:
    """False when the pairing is known already. If its end arrived first, the start is
    filled in (and True returned) so that contacts within its life are accepted."""
    inserted = await conn.fetchval(
        """INSERT INTO pairings (id, child_id, caregiver_id, role, started_on)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET started_on = EXCLUDED.started_on WHERE pairings.started_on IS NULL
           RETURNING true""",
        event.pairing_id, event.child_id, event.caregiver_id, event.role, event.started_on)
    return bool(inserted)


async def end_pairing(conn: asyncpg.Connection, event: PairingEnded) -> None:
    await conn.execute(
        """INSERT INTO pairings (id, child_id, caregiver_id, role, ended_on) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET ended_on = EXCLUDED.ended_on""",
        event.pairing_id, event.child_id, event.caregiver_id, event.role, event.ended_on)


async def paired_on(conn: asyncpg.Connection, child_id: UUID, caregiver_id: UUID, day: date) -> bool:
    """Was the caregiver paired with the child (lead or helper) on `day`?"""
    return bool(await conn.fetchval(
        """SELECT true FROM pairings
            WHERE child_id = $1 AND caregiver_id = $2 AND started_on <= $3
              AND (ended_on IS NULL OR ended_on >= $3) LIMIT 1""",
        child_id, caregiver_id, day))


async def active_pairing_ids(conn: asyncpg.Connection, child_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        """SELECT id FROM pairings WHERE child_id = $1 AND ended_on IS NULL
              AND started_on IS NOT NULL ORDER BY id""", child_id)
    return [row["id"] for row in rows]


async def upsert_caregiver(conn: asyncpg.Connection, caregiver_id: UUID, kind: str, record_version: int) -> bool:
    """True when the caregiver is new or its kind changed (a newer version only)."""
    changed = await conn.fetchval(
        """WITH before AS (SELECT kind FROM caregivers WHERE id = $1),
                written AS (
                    INSERT INTO caregivers (id, kind, record_version) VALUES ($1, $2, $3)
                    ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, record_version = EXCLUDED.record_version
                    WHERE caregivers.record_version < EXCLUDED.record_version
                    RETURNING kind)
           SELECT EXISTS (SELECT 1 FROM written)
                  AND (SELECT kind FROM before) IS DISTINCT FROM $2""", caregiver_id, kind, record_version)
    return bool(changed)


async def active_pairing_ids_of_caregiver(conn: asyncpg.Connection, caregiver_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        """SELECT id FROM pairings WHERE caregiver_id = $1 AND ended_on IS NULL AND started_on IS NOT NULL
            ORDER BY id""", caregiver_id)
    return [row["id"] for row in rows]


# -- contacts -----------------------------------------------------------------------------

_CONTACT_COLUMNS = (
    "id", "child_id", "caregiver_id", "other_caregiver_ids", "kind", "occurred_at", "county_code",
    "township_code", "village_code", "school_id", "place", "location_enc", "rating_study",
    "rating_daily_life", "rating_emotions", "rating_safety", "rating_health", "notes_enc",
    "call_initiated_by", "call_minutes", "follow_ups_enc", "concern_count", "logged_by", "logged_at",
)


async def contact_context(conn: asyncpg.Connection, *, child_id: UUID, caregiver_id: UUID, day: date,
                          contact_id: UUID) -> asyncpg.Record | None:
    """In one round trip, what logging a contact needs to know: the child (None when
    unknown), whether the caregiver was paired with it on `day`, and the child of an
    earlier contact with this id (an offline resend) if there is one."""
    return await conn.fetchrow(
        """SELECT ch.*,
                  EXISTS (SELECT 1 FROM pairings p WHERE p.child_id = ch.id AND p.caregiver_id = $2
                             AND p.started_on <= $3 AND (p.ended_on IS NULL OR p.ended_on >= $3)) AS paired,
                  (SELECT c.child_id FROM contacts c WHERE c.id = $4) AS earlier_contact_child
             FROM children ch WHERE ch.id = $1""", child_id, caregiver_id, day, contact_id)


async def insert_contact(conn: asyncpg.Connection, values: dict[str, Any], *, fulfils: Sequence[str],
                         day: date) -> list[asyncpg.Record] | None:
    """Inserts the contact and marks the duties it fulfils (a contact of the right kind in
    a duty's window: whoever made it, the child was seen), in one statement. Returns the
    duties it fulfilled (for their DutyFulfilled), or None when a contact with this id
    exists already (an offline client's resend); nothing changes then."""
    placeholders = ", ".join(f"${i}" for i in range(1, len(_CONTACT_COLUMNS) + 1))
    n = len(_CONTACT_COLUMNS)
    rows = await conn.fetch(
        f"""WITH inserted AS (
                INSERT INTO contacts ({", ".join(_CONTACT_COLUMNS)}) VALUES ({placeholders})
                ON CONFLICT (id) DO NOTHING RETURNING id, child_id, caregiver_id, other_caregiver_ids),
            fulfilled AS (
                UPDATE duties d SET status = 'fulfilled', fulfilled_by = inserted.id, fulfilled_at = now()
                  FROM inserted
                 WHERE d.child_id = inserted.child_id AND d.duty_kind = ANY(${n + 1}::text[])
                   AND (NOT d.own_contacts_only OR d.caregiver_id = inserted.caregiver_id
                        OR d.caregiver_id = ANY(inserted.other_caregiver_ids))
                   AND d.status = 'open' AND d.period_start <= ${n + 2} AND d.due_on >= ${n + 2}
                RETURNING d.id, d.child_id, d.caregiver_id, d.duty_kind, d.due_on, d.county_code, d.township_code,
                          d.village_code, d.school_id, d.fulfilled_by, d.fulfilled_at)
            SELECT inserted.id IS NOT NULL AS inserted, fulfilled.*
              FROM (SELECT 1) one LEFT JOIN inserted ON true LEFT JOIN fulfilled ON true""",
        *(values.get(column) for column in _CONTACT_COLUMNS), list(fulfils), day)
    if not rows[0]["inserted"]:
        return None
    return [row for row in rows if row["id"] is not None]


async def get_contact(conn: asyncpg.Connection, contact_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT c.*, coalesce((SELECT array_agg(id ORDER BY id) FROM concerns WHERE contact_id = c.id),
                                '{}') AS concern_ids
             FROM contacts c WHERE c.id = $1""", contact_id)


async def list_contacts(conn: asyncpg.Connection, *, scope_prefix: str | None, paired_caregiver: UUID | None,
                        child_id: UUID | None, caregiver_id: UUID | None, township_code: str | None,
                        kind: str | None, occurred_from: datetime | None, occurred_to: datetime | None,
                        limit: int, after: tuple[datetime, UUID] | None = None,
                        school_id: str | None = None) -> list[asyncpg.Record]:
    """Contacts newest first, from after the keyset position `after` (occurred_at, id).
    Staff see their jurisdiction (scope_prefix); a caregiver (paired_caregiver) sees the
    contacts they logged and those of children paired with them."""
    conditions, args = [], []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if scope_prefix is not None:
        conditions.append(f"coalesce(c.village_code, c.township_code) LIKE {arg(scope_prefix)} || '%'")
    if paired_caregiver is not None:
        me = arg(paired_caregiver)
        conditions.append(
            f"""(c.caregiver_id = {me} OR EXISTS (SELECT 1 FROM pairings p WHERE p.child_id = c.child_id
                 AND p.caregiver_id = {me} AND p.ended_on IS NULL AND p.started_on IS NOT NULL))""")
    for column, value in (("c.child_id", child_id), ("c.caregiver_id", caregiver_id),
                          ("c.township_code", township_code), ("c.kind", kind), ("c.school_id", school_id)):
        if value is not None:
            conditions.append(f"{column} = {arg(value)}")
    if occurred_from is not None:
        conditions.append(f"c.occurred_at >= {arg(occurred_from)}")
    if occurred_to is not None:
        conditions.append(f"c.occurred_at < {arg(occurred_to)}")
    if after is not None:
        conditions.append(keyset_after(CONTACT_ORDER, [arg(value) for value in after]))
    where = " AND ".join(conditions) or "true"
    return await conn.fetch(
        f"""SELECT c.*, coalesce((SELECT array_agg(id ORDER BY id) FROM concerns WHERE contact_id = c.id),
                                 '{{}}') AS concern_ids
              FROM contacts c WHERE {where} ORDER BY c.occurred_at DESC, c.id LIMIT {arg(limit)}""", *args)

"""SQL for duty policies, duty instances and the scans over them."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Sequence
from uuid import UUID

import asyncpg

from services.visits.domain_duties import PolicyRule
from shared.auth import scope_prefix
from shared.contracts import Event, encode

# -- policies -----------------------------------------------------------------------------


async def load_policies(conn: asyncpg.Connection) -> list[PolicyRule]:
    rows = await conn.fetch("SELECT scope_code, audience, duty_kind, period, caregiver_kind, role FROM duty_policies")
    return [PolicyRule(row["scope_code"], row["audience"], row["duty_kind"], row["period"], row["caregiver_kind"],
                       row["role"]) for row in rows]


async def list_policies(conn: asyncpg.Connection, scope_prefix: str) -> list[asyncpg.Record]:
    """The default rows and every row inside the caller's jurisdiction."""
    return await conn.fetch(
        """SELECT * FROM duty_policies WHERE scope_code = '' OR scope_code LIKE $1 || '%'
            ORDER BY scope_code, duty_kind, audience, role, caregiver_kind""", scope_prefix)


async def get_policy_for_update(conn: asyncpg.Connection, scope_code: str, audience: str, duty_kind: str,
                                caregiver_kind: str = "", role: str = "lead") -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT * FROM duty_policies WHERE scope_code = $1 AND audience = $2 AND duty_kind = $3
              AND caregiver_kind = $4 AND role = $5 FOR UPDATE""",
        scope_code, audience, duty_kind, caregiver_kind, role)


async def upsert_policy(conn: asyncpg.Connection, *, scope_code: str, audience: str, duty_kind: str,
                        period: str, updated_by: str, caregiver_kind: str = "", role: str = "lead") -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO duty_policies (scope_code, audience, duty_kind, period, updated_by, caregiver_kind, role)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (scope_code, audience, caregiver_kind, role, duty_kind) DO UPDATE SET
               period = EXCLUDED.period, updated_by = EXCLUDED.updated_by, updated_at = now(),
               version = duty_policies.version + 1
           RETURNING *""", scope_code, audience, duty_kind, period, updated_by, caregiver_kind, role)


async def pairings_in_scope(conn: asyncpg.Connection, scope_code: str) -> list[UUID]:
    """Active pairings (lead and helper) of children inside `scope_code` ('' = everywhere)."""
    rows = await conn.fetch(
        """SELECT p.id FROM pairings p JOIN children c ON c.id = p.child_id
            WHERE p.ended_on IS NULL AND p.started_on IS NOT NULL
              AND coalesce(c.village_code, c.township_code) LIKE $1 || '%' ORDER BY p.id""",
        scope_prefix(scope_code) if scope_code else "")
    return [row["id"] for row in rows]


# -- derivation ---------------------------------------------------------------------------


async def pairing_with_child_for_update(conn: asyncpg.Connection, pairing_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT p.id, p.child_id, p.caregiver_id, p.role, p.started_on, p.ended_on, p.derived_from,
                  p.derived_as_of, c.county_code, c.township_code, c.village_code, c.school_id, c.priority,
                  c.status AS child_status, g.kind AS caregiver_kind
             FROM pairings p JOIN children c ON c.id = p.child_id LEFT JOIN caregivers g ON g.id = p.caregiver_id
            WHERE p.id = $1 FOR UPDATE OF p""", pairing_id)


async def duties_of_pairing_from(conn: asyncpg.Connection, pairing_id: UUID, day: date) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, duty_kind, period_start, due_on, status FROM duties
            WHERE pairing_id = $1 AND due_on >= $2""", pairing_id, day)


async def insert_duties(conn: asyncpg.Connection, rows: Sequence[tuple]) -> list[asyncpg.Record]:
    """rows: (id, pairing_id, child_id, caregiver_id, duty_kind, period_start, due_on,
    county, township, village, school, own_contacts_only). A cancelled duty that is owed again reopens;
    reopened with another due date (its window is now a week, not a month), its reminders start again.
    Returns the duties now owed that were not before (inserted or reopened)."""
    if not rows:
        return []
    columns = list(zip(*rows))
    return await conn.fetch(
        """INSERT INTO duties AS d (id, pairing_id, child_id, caregiver_id, duty_kind, period_start, due_on,
                               county_code, township_code, village_code, school_id, own_contacts_only)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::date[], $7::date[],
                                $8::text[], $9::text[], $10::text[], $11::text[], $12::boolean[])
           ON CONFLICT (pairing_id, duty_kind, period_start) WHERE duty_kind <> 'follow_up'
           DO UPDATE SET status = 'open', due_on = EXCLUDED.due_on, cancelled_at = NULL,
                         due_soon_at = CASE WHEN d.due_on = EXCLUDED.due_on THEN d.due_soon_at END,
                         overdue_level = CASE WHEN d.due_on = EXCLUDED.due_on THEN d.overdue_level ELSE 0 END,
                         overdue_at = CASE WHEN d.due_on = EXCLUDED.due_on THEN d.overdue_at END
           WHERE d.status = 'cancelled'
           RETURNING d.id, d.child_id, d.caregiver_id, d.duty_kind, d.due_on, d.county_code, d.township_code,
                     d.village_code, d.school_id, d.period_start""", *map(list, columns))


async def cancel_duties(conn: asyncpg.Connection, duty_ids: Sequence[UUID], now: datetime) -> list[asyncpg.Record]:
    """Returns the duties cancelled now (for their DutyCancelled)."""
    if not duty_ids:
        return []
    return await conn.fetch(
        f"""UPDATE duties d SET status = 'cancelled', cancelled_at = $2
             WHERE d.id = ANY($1::uuid[]) AND d.status = 'open'
            RETURNING {_DUTY_FIELDS}""", list(duty_ids), now)


async def cancel_open_duties_of_pairing(conn: asyncpg.Connection, pairing_id: UUID,
                                        after: date | None, now: datetime) -> list[asyncpg.Record]:
    """Open duties whose window ends after `after` (all open ones when None) are nobody's now.
    Returns them (for their DutyCancelled)."""
    return await conn.fetch(
        f"""UPDATE duties d SET status = 'cancelled', cancelled_at = $3
            WHERE d.pairing_id = $1 AND d.status = 'open' AND ($2::date IS NULL OR d.due_on > $2)
            RETURNING {_DUTY_FIELDS}""", pairing_id, after, now)


async def refresh_open_duty_places(conn: asyncpg.Connection, pairing_id: UUID, county: str, township: str,
                                   village: str | None, school_id: str | None) -> list[asyncpg.Record]:
    """A transferred child's open duties are the new township's (and school's) to chase.
    Returns the duties moved (announced again with their new place)."""
    return await conn.fetch(
        f"""UPDATE duties d SET county_code = $2, township_code = $3, village_code = $4, school_id = $5
            WHERE d.pairing_id = $1 AND d.status = 'open'
              AND (d.county_code, d.township_code, d.village_code, d.school_id)
                  IS DISTINCT FROM ($2, $3, $4, $5)
            RETURNING {_DUTY_FIELDS}, d.period_start""",
        pairing_id, county, township, village, school_id)


async def fulfil_from_existing_contacts(conn: asyncpg.Connection, pairing_id: UUID,
                                       timezone: str) -> list[asyncpg.Record]:
    """A duty derived after the contact that meets it (a policy changed mid-month) is met.
    Returns the duties met now (for their DutyFulfilled)."""
    return await conn.fetch(
        f"""UPDATE duties d SET status = 'fulfilled', fulfilled_by = met.contact_id, fulfilled_at = now()
             FROM (SELECT o.id AS duty_id,
                          (SELECT c.id FROM contacts c
                            WHERE c.child_id = o.child_id
                              AND (NOT o.own_contacts_only OR c.caregiver_id = o.caregiver_id
                                   OR o.caregiver_id = ANY(c.other_caregiver_ids))
                              AND c.kind = ANY(CASE o.duty_kind WHEN 'parent_call'
                                                   THEN ARRAY['parent_call', 'parent_video']
                                                   ELSE ARRAY[o.duty_kind] END)
                              AND (c.occurred_at AT TIME ZONE $2)::date BETWEEN o.period_start AND o.due_on
                            ORDER BY c.occurred_at LIMIT 1) AS contact_id
                     FROM duties o WHERE o.pairing_id = $1 AND o.status = 'open') met
            WHERE d.id = met.duty_id AND met.contact_id IS NOT NULL
        RETURNING {_DUTY_FIELDS}, d.fulfilled_by, d.fulfilled_at""", pairing_id, timezone)


async def mark_derived(conn: asyncpg.Connection, pairing_id: UUID, *, derived_from: date, as_of: date) -> None:
    await conn.execute(
        """UPDATE pairings SET derived_from = coalesce(derived_from, $2),
                               derived_as_of = greatest(coalesce(derived_as_of, $3), $3)
            WHERE id = $1""", pairing_id, derived_from, as_of)


async def pairings_to_extend(conn: asyncpg.Connection, as_of: date, limit: int) -> list[UUID]:
    """Pairings (lead and helper) whose schedule has not been derived up to `as_of` yet,
    claimed so that another replica's scan takes different ones."""
    rows = await conn.fetch(
        """SELECT id FROM pairings
            WHERE ended_on IS NULL AND started_on IS NOT NULL
              AND (derived_as_of IS NULL OR derived_as_of < $1)
            ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED""", as_of, limit)
    return [row["id"] for row in rows]


# -- scans --------------------------------------------------------------------------------

_DUTY_FIELDS = """d.id, d.child_id, d.caregiver_id, d.duty_kind, d.due_on, d.county_code, d.township_code,
                  d.village_code, d.school_id"""


async def claim_due_soon(conn: asyncpg.Connection, *, as_of: date, horizon: date,
                         after: tuple[date, UUID] | None, limit: int) -> list[asyncpg.Record]:
    """Marks open duties falling due in [as_of, horizon] that were not announced yet, and
    returns them. Rows another replica holds are skipped (it announces them)."""
    cursor_date, cursor_id = after or (date(1970, 1, 1), UUID(int=0))
    return await conn.fetch(
        f"""WITH due AS (
                SELECT id FROM duties
                 WHERE status = 'open' AND due_soon_at IS NULL AND due_on BETWEEN $1 AND $2
                   AND period_start <= $1 AND (due_on, id) > ($3, $4)
                 ORDER BY due_on, id LIMIT $5 FOR UPDATE SKIP LOCKED)
            UPDATE duties d SET due_soon_at = now() FROM due WHERE d.id = due.id
            RETURNING {_DUTY_FIELDS}""", as_of, horizon, cursor_date, cursor_id, limit)


async def claim_overdue(conn: asyncpg.Connection, *, as_of: date, school_after: int, county_after: int,
                        after: tuple[date, UUID] | None, limit: int) -> list[asyncpg.Record]:
    """Raises open, overdue duties to the ladder level their lateness has reached and
    returns them with the level they had, so that each level is announced once. Rows
    already at their level are passed over; the caller pages on (due_on, id)."""
    cursor_date, cursor_id = after or (date(1970, 1, 1), UUID(int=0))
    return await conn.fetch(
        f"""WITH late AS (
                SELECT id, overdue_level AS old_level, level.new_level
                  FROM duties,
                       LATERAL (SELECT CASE WHEN $1 - due_on >= $3 THEN 3 WHEN $1 - due_on >= $2 THEN 2
                                            ELSE 1 END AS new_level) level
                 WHERE status = 'open' AND overdue_level < 3 AND due_on < $1 AND (due_on, id) > ($4, $5)
                   AND overdue_level < level.new_level
                 ORDER BY due_on, id LIMIT $6 FOR UPDATE OF duties SKIP LOCKED)
            UPDATE duties d SET overdue_level = late.new_level, overdue_at = now()
              FROM late WHERE d.id = late.id
            RETURNING {_DUTY_FIELDS}, late.old_level, late.new_level""",
        as_of, school_after, county_after, cursor_date, cursor_id, limit)


# -- work lists ---------------------------------------------------------------------------


async def list_duties(conn: asyncpg.Connection, *, scope_prefix: str | None, caregiver_id: UUID | None,
                      child_id: UUID | None, township_code: str | None, state: str, today: date,
                      due_soon_until: date, limit: int, after: tuple[date, UUID] | None = None,
                      school_ids: Sequence[str] = ()) -> list[asyncpg.Record]:
    """Duties for a work list, soonest due first, from after the keyset position `after`
    (due_on, id). state: overdue | due_soon | open | fulfilled | all ("open" is every open
    duty whose window has begun or is next). Each of `school_ids` must match. Each row also
    has what it is owed on: a plan_review's plan_id, a follow_up's contact_id (else NULL)."""
    state_condition = {
        "overdue": "d.status = 'open' AND d.due_on < $6",
        "due_soon": "d.status = 'open' AND d.due_on BETWEEN $6 AND $7 AND d.period_start <= $6",
        "open": "d.status = 'open'",
        "fulfilled": "d.status = 'fulfilled'",
        "all": "d.status <> 'cancelled'",
    }[state]
    after_due, after_id = after or (None, None)
    return await conn.fetch(
        f"""SELECT d.*, r.plan_id, f.contact_id FROM duties d
                   LEFT JOIN plan_reviews r ON r.duty_id = d.id LEFT JOIN follow_ups f ON f.duty_id = d.id
             WHERE ($1::text IS NULL OR coalesce(d.village_code, d.township_code) LIKE $1 || '%')
               AND ($2::uuid IS NULL OR d.caregiver_id = $2) AND ($3::uuid IS NULL OR d.child_id = $3)
               AND ($4::text IS NULL OR d.township_code = $4) AND {state_condition}
               AND $6::date IS NOT NULL AND $7::date IS NOT NULL
               AND (cardinality($8::text[]) = 0 OR d.school_id = ALL($8))
               AND ($9::date IS NULL OR (d.due_on, d.id) > ($9, $10::uuid))
             ORDER BY d.due_on, d.id LIMIT $5""",
        scope_prefix, caregiver_id, child_id, township_code, limit, today, due_soon_until, list(school_ids),
        after_due, after_id)


async def add_events(conn: asyncpg.Connection, events: Sequence[Event]) -> None:
    """Writes many events to the outbox in one statement, in the caller's transaction.

    The same rows `shared.outbox.add` writes (one per event, status 'pending'), but one
    round trip and one wake-up for a whole scan batch instead of one per event: a scan
    that announces thousands of late duties would otherwise spend its time on round trips.
    """
    if not events:
        return
    encoded = [(encode(event), event) for event in events]
    await conn.execute(
        """INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[])""",
        [e.event_id for e, _ in encoded], [e.topic for e, _ in encoded], [e.key for e, _ in encoded],
        [event.cloudevent_type() for _, event in encoded], [e.headers for e, _ in encoded],
        [json.loads(e.value) for e, _ in encoded])

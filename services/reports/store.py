"""SQL that writes the read model, one statement per kind of fact. Each is idempotent on
its own (a key or a version), beside the inbox that makes a redelivery a no-op.

A writer is a `Statement` (SQL and its arguments) so that the rebuild can send a run of
them in one round trip (`executemany`); the handlers run them one at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from shared.contracts import Jurisdiction

Statement = tuple[str, tuple[Any, ...]]


async def run(conn: asyncpg.Connection, statement: Statement) -> None:
    sql, args = statement
    await conn.execute(sql, *args)


def _statement(sql: str, *args: Any) -> Statement:
    return sql, args


def _place(jurisdiction: Jurisdiction) -> tuple[str, str, str | None]:
    return jurisdiction.county_code, jurisdiction.township_code, jurisdiction.village_code


def insert_child_version(*, event_type: str, effective_at: datetime, facts: Any) -> Statement:
    """One row per record version: a version already known (a replay) changes nothing."""
    moved_from = getattr(facts, "from_jurisdiction", None)
    return _statement(
        """INSERT INTO child_versions (child_id, record_version, event_type, effective_at, county_code,
                                       township_code, village_code, school_id, status, categories, left_behind_type,
                                       priority, age_band, from_county_code, from_township_code, from_village_code,
                                       from_school_id, close_reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
           ON CONFLICT (child_id, record_version) DO NOTHING""",
        facts.child_id, facts.record_version, event_type, effective_at, *_place(facts.jurisdiction),
        facts.school_id, facts.status, list(facts.categories), facts.left_behind_type, facts.priority,
        facts.age_band, *(_place(moved_from) if moved_from else (None, None, None)),
        getattr(facts, "from_school_id", None), getattr(facts, "reason", None))


def insert_caregiver_version(*, effective_at: datetime, facts: Any) -> Statement:
    return _statement(
        """INSERT INTO caregiver_versions (caregiver_id, record_version, effective_at, kind, county_code,
                                           township_code, village_code, school_id, capacity, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING""",
        facts.caregiver_id, facts.record_version, effective_at, facts.kind, *_place(facts.jurisdiction),
        facts.school_id, facts.capacity, facts.active)


def upsert_pairing_started(*, recorded_at: datetime, facts: Any) -> Statement:
    return _statement(
        """INSERT INTO pairings (pairing_id, child_id, caregiver_id, role, county_code, township_code, village_code,
                                 school_id, priority, started_on, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (pairing_id) DO NOTHING""",
        facts.pairing_id, facts.child_id, facts.caregiver_id, facts.role, *_place(facts.jurisdiction),
        facts.school_id, facts.priority, facts.started_on, recorded_at)


async def end_pairing(conn: asyncpg.Connection, *, recorded_at: datetime, facts: Any) -> bool:
    """False when the pairing is not known (yet): its PairingCreated comes first on the
    child's partition, so this is a replay out of order and is retried."""
    result = await conn.execute(
        """UPDATE pairings SET ended_on = $2, end_reason = $3, ended_recorded_at = $4
            WHERE pairing_id = $1 AND ended_on IS NULL""",
        facts.pairing_id, facts.ended_on, facts.reason, recorded_at)
    if result != "UPDATE 0":
        return True
    return bool(await conn.fetchval("SELECT true FROM pairings WHERE pairing_id = $1", facts.pairing_id))


def insert_contact(*, recorded_at: datetime, facts: Any) -> Statement:
    return _statement(
        """INSERT INTO contacts (contact_id, child_id, caregiver_id, kind, occurred_at, recorded_at, county_code,
                                 township_code, village_code, concern_raised)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (contact_id) DO NOTHING""",
        facts.contact_id, facts.child_id, facts.caregiver_id, facts.kind, facts.occurred_at, recorded_at,
        *_place(facts.jurisdiction), facts.concern_raised)


def upsert_duty(*, seen_at: datetime, facts: Any,
                      period_start: Any = None, fulfilled_at: datetime | None = None, fulfilled_by: Any = None,
                      cancelled_at: datetime | None = None, overdue_at: datetime | None = None) -> Statement:
    """Any duty event creates the duty if it is new (first seen = scheduled) and updates its
    place; fulfilment keeps its first time; a cancellation holds until a later scheduling
    (a duty owed again) clears it."""
    return _statement(
        """INSERT INTO duties AS d (duty_id, child_id, caregiver_id, duty_kind, period_start, due_on, county_code,
                                    township_code, village_code, school_id, scheduled_at, fulfilled_at, fulfilled_by,
                                    cancelled_at, first_overdue_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (duty_id) DO UPDATE SET
               period_start = coalesce(EXCLUDED.period_start, d.period_start),
               due_on = EXCLUDED.due_on, county_code = EXCLUDED.county_code,
               township_code = EXCLUDED.township_code, village_code = EXCLUDED.village_code,
               school_id = EXCLUDED.school_id,
               scheduled_at = least(d.scheduled_at, EXCLUDED.scheduled_at),
               fulfilled_at = coalesce(d.fulfilled_at, EXCLUDED.fulfilled_at),
               fulfilled_by = coalesce(d.fulfilled_by, EXCLUDED.fulfilled_by),
               cancelled_at = CASE
                   WHEN EXCLUDED.cancelled_at IS NOT NULL THEN greatest(d.cancelled_at, EXCLUDED.cancelled_at)
                   WHEN EXCLUDED.period_start IS NOT NULL AND d.cancelled_at < EXCLUDED.scheduled_at THEN NULL
                   ELSE d.cancelled_at END,
               first_overdue_at = least(d.first_overdue_at, EXCLUDED.first_overdue_at)""",
        facts.duty_id, facts.child_id, facts.caregiver_id, facts.duty_kind, period_start, facts.due_on,
        *_place(facts.jurisdiction), facts.school_id, seen_at, fulfilled_at, fulfilled_by, cancelled_at, overdue_at)


def insert_concern(*, facts: Any) -> Statement:
    return _statement(
        """INSERT INTO concerns (concern_id, child_id, contact_id, severity, mandatory_report, raised_at, county_code,
                                 township_code, village_code, escalation_level)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (concern_id) DO NOTHING""",
        facts.concern_id, facts.child_id, facts.contact_id, facts.severity, facts.mandatory_report, facts.raised_at,
        *_place(facts.jurisdiction), facts.escalation_level)


def concern_escalated(concern_id: Any, level: str) -> Statement:
    return _statement("UPDATE concerns SET escalation_level = $2 WHERE concern_id = $1", concern_id, level)


async def concern_acknowledged(conn: asyncpg.Connection, concern_id: Any, at: datetime) -> bool:
    result = await conn.execute(
        "UPDATE concerns SET acknowledged_at = coalesce(acknowledged_at, $2) WHERE concern_id = $1", concern_id, at)
    return bool(result != "UPDATE 0")


def insert_expected_count(*, effective_at: datetime, facts: Any) -> Statement:
    return _statement(
        """INSERT INTO expected_counts (kind, code, township_code, expected, effective_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        facts.kind, facts.code, facts.township_code, facts.expected, effective_at)


def insert_activity(*, recorded_at: datetime, facts: Any) -> Statement:
    return _statement(
        """INSERT INTO activities (activity_id, activity_type, held_on, recorded_at, county_code, township_code,
                                   village_code, school_id, home_id, registered_children, other_children,
                                   family_members, others)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (activity_id) DO NOTHING""",
        facts.activity_id, facts.activity_type, facts.held_on, recorded_at, *_place(facts.jurisdiction),
        facts.school_id, facts.home_id, facts.registered_children, facts.other_children, facts.family_members,
        facts.others)

"""SQL that writes the read model, one statement per kind of fact. Each is idempotent on
its own (a key or a version), beside the inbox that makes a redelivery a no-op.

A writer is a `Statement` (SQL and its arguments) so that the rebuild can send a run of
them in one round trip (`executemany`); the handlers run them one at a time."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from datetime import datetime
from typing import Any

import asyncpg

from shared.contracts import Jurisdiction

Statement = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True)
class Insert:
    """An INSERT of one row's columns, with its conflict clause: the same write as one row
    (`sql`, what the handlers run) or as a whole table of rows (`from_table`, what the
    rebuild runs after copying a run of rows into a staging table)."""

    table: str
    alias: str
    columns: tuple[str, ...]
    on_conflict: str

    @cached_property
    def sql(self) -> str:
        params = ", ".join(f"${number}" for number in range(1, len(self.columns) + 1))
        return f"INSERT INTO {self.table} {self.alias} ({', '.join(self.columns)}) VALUES ({params}) {self.on_conflict}"

    def from_table(self, staging: str) -> str:
        columns = ", ".join(self.columns)
        return f"INSERT INTO {self.table} {self.alias} ({columns}) SELECT {columns} FROM {staging} {self.on_conflict}"


async def run(conn: asyncpg.Connection, statement: Statement) -> None:
    sql, args = statement
    await conn.execute(sql, *args)


def _statement(sql: str, *args: Any) -> Statement:
    return sql, args


def _place(jurisdiction: Jurisdiction) -> tuple[str, str, str | None]:
    return jurisdiction.county_code, jurisdiction.township_code, jurisdiction.village_code


_CHILD_VERSION = Insert(
    "child_versions", "",
    ("child_id", "record_version", "event_type", "effective_at", "county_code", "township_code", "village_code",
     "school_id", "status", "categories", "left_behind_type", "priority", "age_band", "from_county_code",
     "from_township_code", "from_village_code", "from_school_id", "close_reason"),
    "ON CONFLICT (child_id, record_version) DO NOTHING")


def insert_child_version(*, event_type: str, effective_at: datetime, facts: Any) -> Statement:
    """One row per record version: a version already known (a replay) changes nothing."""
    moved_from = getattr(facts, "from_jurisdiction", None)  # what only some events carry: a transfer's origin
    return _statement(
        _CHILD_VERSION.sql,
        facts.child_id, facts.record_version, event_type, effective_at, *_place(facts.jurisdiction),
        facts.school_id, facts.status, list(facts.categories), facts.left_behind_type, facts.priority,
        facts.age_band, *(_place(moved_from) if moved_from else (None, None, None)),
        getattr(facts, "from_school_id", None), getattr(facts, "reason", None))


_CAREGIVER_VERSION = Insert(
    "caregiver_versions", "",
    ("caregiver_id", "record_version", "effective_at", "kind", "county_code", "township_code", "village_code",
     "school_id", "capacity", "active"),
    "ON CONFLICT DO NOTHING")


def insert_caregiver_version(*, effective_at: datetime, facts: Any) -> Statement:
    return _statement(
        _CAREGIVER_VERSION.sql,
        facts.caregiver_id, facts.record_version, effective_at, facts.kind, *_place(facts.jurisdiction),
        facts.school_id, facts.capacity, facts.active)


_PAIRING = Insert(
    "pairings", "",
    ("pairing_id", "child_id", "caregiver_id", "role", "county_code", "township_code", "village_code", "school_id",
     "priority", "started_on", "recorded_at"),
    "ON CONFLICT (pairing_id) DO NOTHING")


def upsert_pairing_started(*, recorded_at: datetime, facts: Any) -> Statement:
    return _statement(
        _PAIRING.sql,
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


_CONTACT = Insert(
    "contacts", "",
    ("contact_id", "child_id", "caregiver_id", "kind", "occurred_at", "recorded_at", "county_code", "township_code",
     "village_code", "concern_raised"),
    "ON CONFLICT (contact_id) DO NOTHING")


def insert_contact(*, recorded_at: datetime, facts: Any) -> Statement:
    return _statement(
        _CONTACT.sql,
        facts.contact_id, facts.child_id, facts.caregiver_id, facts.kind, facts.occurred_at, recorded_at,
        *_place(facts.jurisdiction), facts.concern_raised)


# Any duty event creates the duty if it is new (first seen = scheduled) and updates its
# place; fulfilment keeps its first time; a cancellation holds until a later scheduling (a
# duty owed again) clears it.
_DUTY = Insert(
    "duties", "AS d",
    ("duty_id", "child_id", "caregiver_id", "duty_kind", "period_start", "due_on", "county_code", "township_code",
     "village_code", "school_id", "scheduled_at", "fulfilled_at", "fulfilled_by", "cancelled_at", "first_overdue_at"),
    """ON CONFLICT (duty_id) DO UPDATE SET
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
           first_overdue_at = least(d.first_overdue_at, EXCLUDED.first_overdue_at)""")


def upsert_duty(*, seen_at: datetime, facts: Any,
                      period_start: Any = None, fulfilled_at: datetime | None = None, fulfilled_by: Any = None,
                      cancelled_at: datetime | None = None, overdue_at: datetime | None = None) -> Statement:
    return _statement(
        _DUTY.sql,
        facts.duty_id, facts.child_id, facts.caregiver_id, facts.duty_kind, period_start, facts.due_on,
        *_place(facts.jurisdiction), facts.school_id, seen_at, fulfilled_at, fulfilled_by, cancelled_at, overdue_at)


_CONCERN = Insert(
    "concerns", "",
    ("concern_id", "child_id", "contact_id", "severity", "mandatory_report", "raised_at", "county_code",
     "township_code", "village_code", "escalation_level"),
    "ON CONFLICT (concern_id) DO NOTHING")


def insert_concern(*, facts: Any) -> Statement:
    return _statement(
        _CONCERN.sql,
        facts.concern_id, facts.child_id, facts.contact_id, facts.severity, facts.mandatory_report, facts.raised_at,
        *_place(facts.jurisdiction), facts.escalation_level)


def concern_escalated(concern_id: Any, level: str) -> Statement:
    return _statement("UPDATE concerns SET escalation_level = $2 WHERE concern_id = $1", concern_id, level)


async def concern_acknowledged(conn: asyncpg.Connection, concern_id: Any, at: datetime) -> bool:
    result = await conn.execute(
        "UPDATE concerns SET acknowledged_at = coalesce(acknowledged_at, $2) WHERE concern_id = $1", concern_id, at)
    return bool(result != "UPDATE 0")


_EXPECTED_COUNT = Insert("expected_counts", "", ("kind", "code", "township_code", "expected", "effective_at"),
                         "ON CONFLICT DO NOTHING")


def insert_expected_count(*, effective_at: datetime, facts: Any) -> Statement:
    return _statement(
        _EXPECTED_COUNT.sql, facts.kind, facts.code, facts.township_code, facts.expected, effective_at)


def insert_activity(*, recorded_at: datetime, facts: Any) -> Statement:
    return _statement(
        """INSERT INTO activities (activity_id, activity_type, held_on, recorded_at, county_code, township_code,
                                   village_code, school_id, home_id, registered_children, other_children,
                                   family_members, others)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (activity_id) DO NOTHING""",
        facts.activity_id, facts.activity_type, facts.held_on, recorded_at, *_place(facts.jurisdiction),
        facts.school_id, facts.home_id, facts.registered_children, facts.other_children, facts.family_members,
        facts.others)


def insert_family_note_sent(*, facts: Any) -> Statement:
    """A caregiver's note to a family sent (notify's FamilyNoteSent), dated when it went out."""
    return _statement(
        """INSERT INTO family_notes_sent (letter_id, child_id, caregiver_id, member_kind, sent_at, county_code,
                                          township_code, village_code, school_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (letter_id) DO NOTHING""",
        facts.letter_id, facts.child_id, facts.caregiver_id, facts.member_kind, facts.sent_at,
        *_place(facts.jurisdiction), facts.school_id)


def insert_support_given(*, recorded_at: datetime, facts: Any) -> Statement:
    """Aid or a gift (pairing's SupportRecorded), dated by the day it was given; the aid
    programme's name kept beside its id (the summary names programmes from it)."""
    return _statement(
        """INSERT INTO support_given (support_id, child_id, kind, amount_fen, given_on, recorded_at, county_code,
                                      township_code, village_code, school_id, duplicate_of, programme_id,
                                      programme_name)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (support_id) DO NOTHING""",
        facts.support_id, facts.child_id, facts.kind, facts.amount_fen, facts.given_on, recorded_at,
        *_place(facts.jurisdiction), facts.school_id, facts.duplicate_of, facts.programme_id,
        facts.programme_name)


_CONCERN_STATE = Insert(
    "concern_states", "", ("concern_id", "state", "changed_at", "recorded_at"),
    "ON CONFLICT (concern_id, changed_at, state) DO NOTHING")


def insert_concern_state(*, recorded_at: datetime, facts: Any) -> Statement:
    """A case's state from then on (ConcernStateChanged carries the state and its deadline only)."""
    return _statement(_CONCERN_STATE.sql, facts.concern_id, facts.state, facts.changed_at, recorded_at)


# The statements a run of rows can be written by at once (staged, then one INSERT … SELECT).
INSERTS: dict[str, Insert] = {insert.sql: insert for insert in (
    _CHILD_VERSION, _CAREGIVER_VERSION, _PAIRING, _CONTACT, _DUTY, _CONCERN, _EXPECTED_COUNT, _CONCERN_STATE)}

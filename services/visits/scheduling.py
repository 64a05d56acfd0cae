"""Deriving duty instances for pairings: when a pairing starts or ends, when a child's
priority, place or status changes, when a policy changes, and when the scheduler moves
the horizon forward. Joins the caller's transaction (it never begins or commits)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from services.visits import store_duties
from services.visits.config import VisitsSettings
from services.visits.domain_duties import DUTY_KINDS, PolicyRule, desired_windows, duty_event, parse_terms, resolve_periods
from shared.contracts import DutyCancelled, DutyFulfilled, DutyScheduled


async def derive_pairing(conn: asyncpg.Connection, settings: VisitsSettings, pairing_id: UUID, *,
                         from_day: date | None = None, as_of: date | None = None,
                         rules: list[PolicyRule] | None = None, extend: bool = False) -> None:
    """Makes the pairing's duties from `from_day` (default today) up to the horizon of
    `as_of` match the policy: owed ones exist, no-longer-owed open ones are cancelled.
    Duties that ended before `from_day` are history and are not touched. `extend` (the
    scheduler moving the horizon) starts from the last derivation instead of today."""
    today, now = settings.clock.today(), settings.clock.now()
    row = await store_duties.pairing_with_child_for_update(conn, pairing_id)
    if row is None or row["started_on"] is None:
        return
    if row["child_status"] == "closed":
        await _announce_cancelled(conn, now,
                                  await store_duties.cancel_open_duties_of_pairing(conn, pairing_id, after=None,
                                                                                   now=now))
        return
    if from_day is None:
        if extend and row["derived_as_of"]:
            from_day = row["derived_as_of"]
        elif row["derived_as_of"] is None:  # first derivation: a backdated pairing owes recent windows
            from_day = max(row["started_on"], today - timedelta(days=settings.backfill_days))
        else:
            from_day = today
    if row["ended_on"] is not None:
        # Duties not yet late when the pairing ended are whoever takes over's; late ones
        # stay late (they were missed) and keep their place on the ladder.
        await _announce_cancelled(
            conn, now,
            await store_duties.cancel_open_duties_of_pairing(conn, pairing_id, after=row["ended_on"], now=now))
        return
    as_of = max(as_of or today, row["derived_as_of"] or today)
    rules = rules if rules is not None else await store_duties.load_policies(conn)
    periods = resolve_periods(rules, county_code=row["county_code"], township_code=row["township_code"],
                              priority=row["priority"], caregiver_kind=row["caregiver_kind"], role=row["role"])
    terms = parse_terms(settings.terms)
    # A window is its first and its last day: on a Monday that is the 1st, this week's window
    # and this month's begin together, and a period changed between them is another window.
    wanted = {(kind, window.start, window.end)
              for kind, period in periods.items()
              for window in desired_windows(period, started_on=row["started_on"], ended_on=None,
                                            from_day=from_day, as_of=as_of, terms=terms)}
    existing = await store_duties.duties_of_pairing_from(conn, pairing_id, from_day)
    # Duties the policies own; a plan's review dates are the plan's, not the policies'.
    stale = [duty["id"] for duty in existing
             if duty["status"] == "open" and duty["duty_kind"] in DUTY_KINDS
             and (duty["duty_kind"], duty["period_start"], duty["due_on"]) not in wanted]
    await _announce_cancelled(conn, now, await store_duties.cancel_duties(conn, stale, now))
    have = {(duty["duty_kind"], duty["period_start"], duty["due_on"])
            for duty in existing if duty["status"] != "cancelled"}
    # A window that begins where a cancelled duty began reopens that duty with its own due date.
    scheduled = await store_duties.insert_duties(conn, [
        (uuid4(), pairing_id, row["child_id"], row["caregiver_id"], kind, start, end,
         row["county_code"], row["township_code"], row["village_code"], row["school_id"], row["role"] == "helper")
        for kind, start, end in sorted(wanted - have)])
    moved = await store_duties.refresh_open_duty_places(conn, pairing_id, row["county_code"], row["township_code"],
                                                        row["village_code"], row["school_id"])
    await store_duties.add_events(conn, [duty_event(DutyScheduled, duty, period_start=duty["period_start"])
                                         for duty in [*scheduled, *moved]])
    fulfilled = await store_duties.fulfil_from_existing_contacts(conn, pairing_id, settings.county_timezone)
    await store_duties.add_events(conn, [
        duty_event(DutyFulfilled, duty, contact_id=duty["fulfilled_by"], fulfilled_at=duty["fulfilled_at"])
        for duty in fulfilled])
    await store_duties.mark_derived(conn, pairing_id, derived_from=from_day, as_of=as_of)


async def _announce_cancelled(conn: asyncpg.Connection, at: datetime, cancelled: list[asyncpg.Record]) -> None:
    """Each cancelled duty's DutyCancelled, in the transaction that cancelled it."""
    await store_duties.add_events(conn, [duty_event(DutyCancelled, duty, cancelled_at=at) for duty in cancelled])

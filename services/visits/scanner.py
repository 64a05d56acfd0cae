"""The scheduler: moves every lead pairing's schedule forward, announces duties falling
due (DutyDueSoon) and overdue ones up the ladder (ContactOverdue), and escalates
unacknowledged concerns (ConcernEscalated).

Safe with several replicas and across restarts: every batch claims its rows with
FOR UPDATE SKIP LOCKED and records what it announced (duties.due_soon_at,
duties.overdue_level, concern_escalations) in the same transaction as the outbox rows,
so each duty instance and level, and each concern level, is announced exactly once.
A scan is for an as-of date: the scheduler uses today; backfills and tests pass another
(`python -m services.visits scan --as-of 2026-12-01`, POST /v1/admin/scans).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

import asyncpg

from services.visits import domain, domain_cases, scheduling, store_cases, store_concerns, store_duties
from services.visits.config import VisitsSettings
from services.visits.domain_duties import level_name
from shared import outbox
from shared.contracts import ConcernDeadlineMissed, ConcernEscalated, ContactOverdue, DutyDueSoon, Jurisdiction
from shared.logging import get_logger
from shared.resilience import UNAVAILABLE, OutageLog

log = get_logger("visits.scanner")
_PAIRINGS_PER_TRANSACTION = 100


@dataclass
class ScanResult:
    as_of: date
    pairings_extended: int = 0
    due_soon: int = 0
    overdue_events: int = 0
    concerns_escalated: int = 0
    case_deadlines_missed: int = 0

    def as_dict(self) -> dict:
        return {**asdict(self), "as_of": self.as_of.isoformat()}


def end_of_day(day: date, settings: VisitsSettings) -> datetime:
    """A date given to a scan means "once that whole day has passed" in the county."""
    return settings.clock.start_of(day + timedelta(days=1))


def _jurisdiction(row: asyncpg.Record) -> Jurisdiction:
    return Jurisdiction(county_code=row["county_code"], township_code=row["township_code"],
                        village_code=row["village_code"])


async def run_scan(pool: asyncpg.Pool, settings: VisitsSettings, as_of: date,
                   at: datetime | None = None) -> ScanResult:
    at = at or end_of_day(as_of, settings)
    result = ScanResult(as_of=as_of)
    result.pairings_extended = await _extend_schedules(pool, settings, as_of)
    result.due_soon = await _announce_due_soon(pool, settings, as_of)
    result.overdue_events = await _announce_overdue(pool, settings, as_of)
    result.concerns_escalated = await _escalate_concerns(pool, settings, at)
    result.case_deadlines_missed = await _announce_missed_case_deadlines(pool, settings, at)
    log.info("visits.scan", **result.as_dict())
    return result


async def _extend_schedules(pool: asyncpg.Pool, settings: VisitsSettings, as_of: date) -> int:
    extended = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            pairing_ids = await store_duties.pairings_to_extend(conn, as_of, _PAIRINGS_PER_TRANSACTION)
            if not pairing_ids:
                return extended
            rules = await store_duties.load_policies(conn)
            for pairing_id in pairing_ids:
                await scheduling.derive_pairing(conn, settings, pairing_id, as_of=as_of, rules=rules, extend=True)
                await store_duties.mark_derived(conn, pairing_id, derived_from=as_of, as_of=as_of)
        extended += len(pairing_ids)


async def _announce_due_soon(pool: asyncpg.Pool, settings: VisitsSettings, as_of: date) -> int:
    announced, cursor = 0, None
    horizon = as_of + timedelta(days=settings.due_soon_days)
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await store_duties.claim_due_soon(conn, as_of=as_of, horizon=horizon, after=cursor,
                                                     limit=settings.scan_batch_size)
            await store_duties.add_events(conn, [DutyDueSoon(
                child_id=row["child_id"], duty_id=row["id"], caregiver_id=row["caregiver_id"],
                duty_kind=row["duty_kind"], due_on=row["due_on"], jurisdiction=_jurisdiction(row),
                school_id=row["school_id"]) for row in rows])
        if not rows:
            return announced
        announced += len(rows)
        cursor = max((row["due_on"], row["id"]) for row in rows)


async def _announce_overdue(pool: asyncpg.Pool, settings: VisitsSettings, as_of: date) -> int:
    announced, cursor = 0, None
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await store_duties.claim_overdue(
                conn, as_of=as_of, school_after=settings.escalate_to_school_after_days,
                county_after=settings.escalate_to_county_after_days, after=cursor, limit=settings.scan_batch_size)
            # A scan that finds a duty already far behind (a backfill, a worker that was
            # down) still tells every rung it skipped, each once.
            events = [ContactOverdue(
                child_id=row["child_id"], duty_id=row["id"], caregiver_id=row["caregiver_id"],
                duty_kind=row["duty_kind"], due_on=row["due_on"], days_overdue=(as_of - row["due_on"]).days,
                escalation_level=level_name(level, row["school_id"]), jurisdiction=_jurisdiction(row),
                school_id=row["school_id"])
                for row in rows for level in range(row["old_level"] + 1, row["new_level"] + 1)]
            await store_duties.add_events(conn, events)
            announced += len(events)
        if not rows:
            return announced
        cursor = max((row["due_on"], row["id"]) for row in rows)


async def _escalate_concerns(pool: asyncpg.Pool, settings: VisitsSettings, at: datetime) -> int:
    shortest = min([*settings.concern_escalation_hours.values(), settings.mandatory_report_escalation_hours])
    escalated, cursor = 0, None
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await store_concerns.claim_unacknowledged(conn, raised_before=at - timedelta(hours=shortest),
                                                             after=cursor, limit=settings.scan_batch_size)
            for row in rows:
                if not domain.concern_escalation_due(
                        raised_at=row["raised_at"], severity=row["severity"], mandatory_report=row["mandatory_report"],
                        as_of=at, hours_by_severity=settings.concern_escalation_hours,
                        mandatory_hours=settings.mandatory_report_escalation_hours):
                    continue
                if await store_concerns.record_escalation(conn, row["id"], "county", at):
                    await outbox.add(conn, ConcernEscalated(
                        child_id=row["child_id"], concern_id=row["id"], severity=row["severity"],
                        mandatory_report=row["mandatory_report"], escalation_level="county",
                        jurisdiction=_jurisdiction(row)))
                    escalated += 1
        if not rows:
            return escalated
        cursor = max((row["raised_at"], row["id"]) for row in rows)


async def _announce_missed_case_deadlines(pool: asyncpg.Pool, settings: VisitsSettings, at: datetime) -> int:
    """A case past the deadline of its state goes to the township's on-duty staff, and
    `case_escalate_to_county_after_hours` later to the county's: each rung once per
    deadline (a step in the case sets a new deadline and starts the ladder again)."""
    county_after = settings.case_escalate_to_county_after_hours
    announced, cursor = 0, None
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await store_cases.claim_missed_deadlines(
                conn, at=at, county_cutoff=at - timedelta(hours=county_after), after=cursor,
                limit=settings.scan_batch_size)
            events = []
            for row in rows:
                level = domain_cases.deadline_level(due=row["state_deadline"], at=at, county_after_hours=county_after)
                events += [ConcernDeadlineMissed(
                    child_id=row["child_id"], concern_id=row["id"], state=row["status"],
                    deadline=row["state_deadline"], severity=row["severity"],
                    mandatory_report=row["mandatory_report"],
                    escalation_level=domain_cases.DEADLINE_LEVELS[rung - 1],  # type: ignore[arg-type]
                    jurisdiction=_jurisdiction(row)) for rung in range(row["deadline_level"] + 1, level + 1)]
                await store_cases.set_deadline_level(conn, row["id"], level)
            await store_duties.add_events(conn, events)
            announced += len(events)
        if not rows:
            return announced
        cursor = max((row["state_deadline"], row["id"]) for row in rows)


async def scheduler_loop(pool: asyncpg.Pool, settings: VisitsSettings) -> None:
    """Scans for today every `scan_interval_s`; a failed scan is logged and tried again
    at the next tick (whatever it committed stays announced, the rest is picked up)."""
    database = OutageLog("visits.scan")  # one line when scans start failing, one when they work again
    while True:
        try:
            clock = settings.clock
            await run_scan(pool, settings, clock.today(), at=clock.now())
            database.ok()
        except (asyncpg.PostgresError, *UNAVAILABLE) as exc:
            await asyncio.sleep(min(database.failed(exc), settings.scan_interval_s))
            continue
        await asyncio.sleep(settings.scan_interval_s)

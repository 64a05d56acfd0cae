"""The work summary (工作总结) of a scope and period: counts from the read model for the
period and the one before, turned into figures with their definitions, in total and by
township. Reads only."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from services.reports import store_summary
from services.reports.domain import FIGURES, Period, Window, change, figures_from_counts


@dataclass(frozen=True)
class Scope:
    """Where a report looks: a division (its code and code prefix), optionally one school."""

    code: str
    prefix: str
    school_id: str | None = None

    @property
    def label(self) -> str:
        return f"{self.code} 学校 {self.school_id}" if self.school_id else self.code


def _expected_by_township(rows: list[asyncpg.Record], scope: Scope) -> tuple[int | None, dict[str, int]]:
    """The expected count for the scope and per township. A school's own count for a
    school; the townships' counts for a county or township; none below a township."""
    if scope.school_id is not None:
        found = [row["expected"] for row in rows if row["kind"] == "school" and row["code"] == scope.school_id
                 and row["township_code"].startswith(scope.prefix[:9])]
        return (sum(found) if found else None), {}
    if len(scope.prefix) > 9:
        return None, {}
    townships = {row["code"]: row["expected"] for row in rows
                 if row["kind"] == "township" and row["code"].startswith(scope.prefix)}
    return (sum(townships.values()) if townships else None), townships


async def _figures(pool: asyncpg.Pool, scope: Scope, window: Window, zone: str) -> tuple[dict, dict]:
    """The counts on two connections at once: the duties on one, the rest on the other (a
    year of a county's contacts and of its duties are the two long scans)."""
    counts, duties = await asyncio.gather(*(
        _on_own_connection(pool, count, scope.prefix, scope.school_id, window, zone)
        for count in (store_summary.summary_counts, store_summary.duty_counts)))
    for township, values in duties.items():
        counts[township].update(values)
    async with pool.acquire() as conn:
        expected_rows = await store_summary.expected_counts(conn, window.known_before)
    expected_total, expected = _expected_by_township(expected_rows, scope)
    total = figures_from_counts({**counts.get(None, {}), "expected": expected_total})
    townships = sorted(set(counts) - {None} | set(expected))
    by_township = {code: figures_from_counts({**counts.get(code, {}), "expected": expected.get(code)})
                   for code in townships}
    return total, by_township


def _period_json(period: Period, as_of: date) -> dict[str, str]:
    return {"from": period.start.isoformat(), "to": period.end.isoformat(), "as_of": as_of.isoformat()}


async def _on_own_connection(pool: asyncpg.Pool, count: Any, *args: Any) -> store_summary.Counts:
    async with pool.acquire() as conn, conn.transaction():
        await store_summary.allow_large_counts(conn)
        return await count(conn, *args)


async def build_summary(pool: asyncpg.Pool, scope: Scope, period: Period, as_of: date, *,
                        zone_name: str, first_day: date) -> dict[str, Any]:
    """The summary as JSON: figures with definition, value, the previous period's value and
    the change, and the same figures by township. The previous period is taken as of its
    own last day; before the first recorded day it has no figures (null). The two periods
    are counted at the same time, each on two connections (PostgreSQL then uses every core)."""
    zone = ZoneInfo(zone_name)
    previous_period = period.previous()
    windows = [Window.of(period, as_of, zone)]
    if previous_period.end >= first_day:
        windows.append(Window.of(previous_period, previous_period.end, zone))
    counted = await asyncio.gather(*(_figures(pool, scope, window, zone_name) for window in windows))
    current, by_township = counted[0]
    previous: dict[str, Any] = counted[1][0] if len(counted) > 1 else {}
    async with pool.acquire() as conn:
        activities = await store_summary.activities_by_type(conn, scope.prefix, scope.school_id, windows[0])
        attendance = await store_summary.activity_attendance_by_type(conn, scope.prefix, scope.school_id, windows[0])
        cases = await store_summary.cases_by_state(conn, scope.prefix, scope.school_id, windows[0])
        by_kind = await store_summary.duties_by_kind(conn, scope.prefix, scope.school_id, windows[0], zone_name)
        aid = await store_summary.aid_by_programme(conn, scope.prefix, scope.school_id, windows[0])
    return {
        "scope": {"code": scope.code, "school_id": scope.school_id},
        "period": _period_json(period, as_of),
        "previous_period": _period_json(previous_period, previous_period.end),
        "first_recorded_day": first_day.isoformat(),
        "figures": [{"key": figure.key, "label": figure.label, "kind": figure.kind, "definition": figure.definition,
                     "value": current[figure.key], "previous": previous.get(figure.key),
                     "change": change(current[figure.key], previous.get(figure.key))} for figure in FIGURES],
        "by_township": [{"township_code": code, "figures": figures} for code, figures in by_township.items()],
        # Activities held by type (codes of the county's vocabulary, as visits records them).
        "activities_by_type": activities,
        "activity_attendance_by_type": attendance,
        # Concern cases by the state each stood in at the end of the period (raised, acknowledged,
        # referred, accepted, following_up, closed).
        "cases_by_state": cases,
        # The period's duties by kind: due, done on time, done late, overdue (plan_review and
        # follow_up among them).
        "duties_by_kind": by_kind,
        # Aid given under pairing's aid programmes, named as SupportRecorded last named them.
        "aid_by_programme": aid,
    }

"""SQL for the assessment: duty outcomes per school, caregiver or township; coverage per
school or township; the weights in force for a scope."""

from __future__ import annotations


import asyncpg

from services.reports.domain import Window
from services.reports.domain_assessment import Weights
from shared.auth import scope_prefix

_GROUP = {"school": "coalesce(d.school_id, '')", "caregiver": "d.caregiver_id::text", "township": "d.township_code"}
_CHILD_GROUP = {"school": "coalesce(l.school_id, '')", "township": "l.township_code"}


async def duty_outcomes(conn: asyncpg.Connection, prefix: str, school: str | None, window: Window, zone: str,
                        by: str) -> list[asyncpg.Record]:
    """Per group: duties due in the period (known and not cancelled as of), done on time
    (recorded by the due day), done late, and still open after the due day."""
    return await conn.fetch(
        f"""SELECT {_GROUP[by]} AS key, count(*) AS due,
                   count(*) FILTER (WHERE d.fulfilled_at < $5
                                      AND (d.fulfilled_at AT TIME ZONE $7)::date <= d.due_on) AS on_time,
                   count(*) FILTER (WHERE d.fulfilled_at < $5
                                      AND (d.fulfilled_at AT TIME ZONE $7)::date > d.due_on) AS late,
                   count(*) FILTER (WHERE (d.fulfilled_at IS NULL OR d.fulfilled_at >= $5) AND d.due_on < $6) AS overdue
              FROM duties d
             WHERE d.due_on BETWEEN $3 AND $4 AND d.scheduled_at < $5
               AND (d.cancelled_at IS NULL OR d.cancelled_at >= $5)
               AND coalesce(d.village_code, d.township_code) LIKE $1 || '%' AND ($2::text IS NULL OR d.school_id = $2)
             GROUP BY 1 ORDER BY 1""",
        prefix, school, window.period.start, window.period.end, window.known_before, window.as_of, zone)


async def coverage(conn: asyncpg.Connection, prefix: str, school: str | None, window: Window,
                   by: str) -> dict[str, tuple[int, int]]:
    """Per school or township: (children paired, children on the register) as of."""
    rows = await conn.fetch(
        f"""WITH latest AS (
                SELECT DISTINCT ON (child_id) child_id, township_code, village_code, school_id, status
                  FROM child_versions WHERE effective_at < $3 ORDER BY child_id, record_version DESC)
            SELECT {_CHILD_GROUP[by]} AS key, count(*) AS registered,
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM pairings p WHERE p.child_id = l.child_id AND p.recorded_at < $3
                          AND p.started_on <= $4
                          AND (p.ended_on IS NULL OR p.ended_on > $4 OR p.ended_recorded_at >= $3))) AS paired
              FROM latest l
             WHERE l.status <> 'closed' AND coalesce(l.village_code, l.township_code) LIKE $1 || '%'
               AND ($2::text IS NULL OR l.school_id = $2)
             GROUP BY 1""", prefix, school, window.known_before, window.as_of)
    return {row["key"]: (row["paired"], row["registered"]) for row in rows}


async def set_weights(conn: asyncpg.Connection, *, scope_code: str, on_time: float, late: float, overdue: float,
                      coverage: float, updated_by: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO assessment_weights (scope_code, on_time, late, overdue, coverage, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (scope_code) DO UPDATE SET on_time = EXCLUDED.on_time, late = EXCLUDED.late,
               overdue = EXCLUDED.overdue, coverage = EXCLUDED.coverage, updated_by = EXCLUDED.updated_by,
               updated_at = now(), version = assessment_weights.version + 1
           RETURNING scope_code, on_time::float8, late::float8, overdue::float8, coverage::float8, updated_by,
                     updated_at, version""", scope_code, on_time, late, overdue, coverage, updated_by)


async def weights_for(conn: asyncpg.Connection, code: str) -> Weights:
    """The weights set for the nearest enclosing scope (a township's own, else its
    county's), else the defaults."""
    wanted = scope_prefix(code)
    rows = await conn.fetch("SELECT scope_code, on_time::float8, late::float8, overdue::float8, coverage::float8"
                            " FROM assessment_weights")
    enclosing = [row for row in rows if wanted.startswith(scope_prefix(row["scope_code"]))]
    if not enclosing:
        return Weights()
    nearest = max(enclosing, key=lambda row: len(scope_prefix(row["scope_code"])))
    return Weights(**{key: nearest[key] for key in ("on_time", "late", "overdue", "coverage")})

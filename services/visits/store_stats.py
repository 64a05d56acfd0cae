"""SQL for statistics. Every query is limited to the caller's jurisdiction (scope prefix)
and, for a school's staff, to their school (`school`, None: any).

As of a past instant `at` (the end of a county day): a child counts in the version of the
projection's history in effect then; a duty was done if the contact that met it had taken
place by then; a duty cancelled after it was still owed. Contacts and duties count by their
own days (a contact logged late counts on the day it took place)."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

_IN_SCOPE = "coalesce({t}.village_code, {t}.township_code) LIKE $1 || '%' AND ($2::text IS NULL OR {t}.school_id = $2)"
# Parameters $3 = `at` (the instant), $4 = its county day, in the duty figures below.
_DONE = "(d.status = 'fulfilled' AND EXISTS (SELECT 1 FROM contacts f WHERE f.id = d.fulfilled_by AND f.occurred_at < $3))"
_CANCELLED = "(d.status = 'cancelled' AND (d.cancelled_at IS NULL OR d.cancelled_at < $3))"


async def contacts_by(conn: asyncpg.Connection, column: str, scope: str, school: str | None, start: datetime,
                      end: datetime) -> dict[str, int]:
    assert column in ("kind", "township_code")
    rows = await conn.fetch(
        f"""SELECT {column} AS key, count(*) AS n FROM contacts c
             WHERE {_IN_SCOPE.format(t='c')} AND occurred_at >= $3 AND occurred_at < $4
             GROUP BY 1 ORDER BY 1""", scope, school, start, end)
    return {row["key"]: row["n"] for row in rows}


async def contacts_by_month(conn: asyncpg.Connection, scope: str, school: str | None, start: datetime,
                            end: datetime, timezone: str) -> dict[str, int]:
    rows = await conn.fetch(
        f"""SELECT to_char(occurred_at AT TIME ZONE $5, 'YYYY-MM') AS month, count(*) AS n FROM contacts c
             WHERE {_IN_SCOPE.format(t='c')} AND occurred_at >= $3 AND occurred_at < $4
             GROUP BY 1 ORDER BY 1""", scope, school, start, end, timezone)
    return {row["month"]: row["n"] for row in rows}


async def first_recorded(conn: asyncpg.Connection) -> datetime | None:
    """The earliest thing visits knows: its first child, or an earlier contact."""
    return await conn.fetchval(
        "SELECT least((SELECT min(valid_from) FROM child_history), (SELECT min(occurred_at) FROM contacts))")


async def coverage(conn: asyncpg.Connection, scope: str, school: str | None, since: datetime, until: datetime,
                   at: datetime | None = None) -> tuple[int, int]:
    """(active children, of them with at least one contact in [since, until)); the children
    as they are now, or as they were at `at`."""
    children = ("children ch WHERE ch.status = 'active'" if at is None else
                "child_history ch WHERE ch.status = 'active' AND ch.valid_from < $5"
                " AND (ch.valid_to IS NULL OR ch.valid_to >= $5)")
    child_id = "ch.id" if at is None else "ch.child_id"
    row = await conn.fetchrow(
        f"""SELECT count(*) AS children,
                   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.child_id = {child_id}
                                                     AND c.occurred_at >= $3 AND c.occurred_at < $4)) AS seen
              FROM {children} AND {_IN_SCOPE.format(t='ch')}""",
        scope, school, since, until, *([] if at is None else [at]))
    return row["children"], row["seen"]


async def overdue_counts(conn: asyncpg.Connection, scope: str, school: str | None, at: datetime,
                         day: date) -> list[asyncpg.Record]:
    """Duties late on `day` (their window ended before it), not met nor cancelled by `at`."""
    return await conn.fetch(
        f"""SELECT township_code, duty_kind, count(*) AS n FROM duties d
             WHERE d.due_on < $4 AND NOT {_DONE} AND NOT {_CANCELLED} AND {_IN_SCOPE.format(t='d')}
             GROUP BY 1, 2 ORDER BY 1, 2""", scope, school, at, day)


async def duties_in_period(conn: asyncpg.Connection, scope: str, school: str | None, at: datetime, day: date,
                           first_due: date, last_due: date) -> asyncpg.Record:
    """Duties whose window ends in [first_due, last_due] and still owed at `at`: how many,
    how many met by then, and how many late on `day` and not met."""
    return await conn.fetchrow(
        f"""SELECT count(*) AS due, count(*) FILTER (WHERE {_DONE}) AS done,
                   count(*) FILTER (WHERE d.due_on < $4 AND NOT {_DONE}) AS overdue
              FROM duties d
             WHERE d.due_on BETWEEN $5 AND $6 AND NOT {_CANCELLED} AND {_IN_SCOPE.format(t='d')}""",
        scope, school, at, day, first_due, last_due)


async def caregiver_activity(conn: asyncpg.Connection, scope: str, school: str | None, start: datetime,
                             end: datetime, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT caregiver_id, count(*) AS contacts, count(DISTINCT child_id) AS children,
                   max(occurred_at) AS last_contact_at
              FROM contacts c WHERE {_IN_SCOPE.format(t='c')} AND occurred_at >= $3 AND occurred_at < $4
             GROUP BY 1 ORDER BY contacts DESC, caregiver_id LIMIT $5""", scope, school, start, end, limit)

"""SQL for statistics. Every query is limited to the caller's jurisdiction (scope prefix)."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

_IN_SCOPE = "coalesce({t}.village_code, {t}.township_code) LIKE $1 || '%'"


async def contacts_by(conn: asyncpg.Connection, column: str, scope: str, start: datetime,
                      end: datetime) -> dict[str, int]:
    assert column in ("kind", "township_code")
    rows = await conn.fetch(
        f"""SELECT {column} AS key, count(*) AS n FROM contacts c
             WHERE {_IN_SCOPE.format(t='c')} AND occurred_at >= $2 AND occurred_at < $3
             GROUP BY 1 ORDER BY 1""", scope, start, end)
    return {row["key"]: row["n"] for row in rows}


async def contacts_by_month(conn: asyncpg.Connection, scope: str, start: datetime, end: datetime,
                            timezone: str) -> dict[str, int]:
    rows = await conn.fetch(
        f"""SELECT to_char(occurred_at AT TIME ZONE $4, 'YYYY-MM') AS month, count(*) AS n FROM contacts c
             WHERE {_IN_SCOPE.format(t='c')} AND occurred_at >= $2 AND occurred_at < $3
             GROUP BY 1 ORDER BY 1""", scope, start, end, timezone)
    return {row["month"]: row["n"] for row in rows}


async def coverage(conn: asyncpg.Connection, scope: str, since: datetime, until: datetime) -> tuple[int, int]:
    """(active children, of them with at least one contact in [since, until))."""
    row = await conn.fetchrow(
        f"""SELECT count(*) AS children,
                   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.child_id = ch.id
                                                     AND c.occurred_at >= $2 AND c.occurred_at < $3)) AS seen
              FROM children ch WHERE ch.status = 'active' AND {_IN_SCOPE.format(t='ch')}""", scope, since, until)
    return row["children"], row["seen"]


async def overdue_counts(conn: asyncpg.Connection, scope: str, today: date) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT township_code, duty_kind, count(*) AS n FROM duties d
             WHERE d.status = 'open' AND d.due_on < $2 AND {_IN_SCOPE.format(t='d')}
             GROUP BY 1, 2 ORDER BY 1, 2""", scope, today)


async def caregiver_activity(conn: asyncpg.Connection, scope: str, start: datetime, end: datetime,
                             limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT caregiver_id, count(*) AS contacts, count(DISTINCT child_id) AS children,
                   max(occurred_at) AS last_contact_at
              FROM contacts c WHERE {_IN_SCOPE.format(t='c')} AND occurred_at >= $2 AND occurred_at < $3
             GROUP BY 1 ORDER BY contacts DESC, caregiver_id LIMIT $4""", scope, start, end, limit)

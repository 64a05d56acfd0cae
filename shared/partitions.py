"""Monthly partitions of the append-only trails (shared migration 0211: change_history and
read_audit, by the month of their time column, in UTC).

Every worker's housekeeping (`prune_loop`, daily) creates the partitions of the coming
months ahead, so that rows land in their month's partition rather than the default one
(which a month partition can no longer be carved out of once it holds that month's rows).
A replica more is harmless: creating a partition that exists is a no-op.

The months are counted from both the database's clock, which stamps the rows (`now()`
defaults), and the services' clock (shared/clock.py), which a rehearsal may run ahead.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

# The partitioned tables and how many months ahead of now each keeps ready.
PARTITIONED = ("change_history", "read_audit")
MONTHS_AHEAD = 3


def _month(day: date, plus: int = 0) -> date:
    months = day.year * 12 + day.month - 1 + plus
    return date(months // 12, months % 12 + 1, 1)


def months_to_cover(database_now: datetime, clock_now: datetime, ahead: int = MONTHS_AHEAD) -> list[date]:
    """The first days of the months from the earlier of the two clocks' months to `ahead`
    months after the later one."""
    first = _month(min(database_now, clock_now).date())
    last = _month(max(database_now, clock_now).date(), ahead)
    months = []
    while first <= last:
        months.append(first)
        first = _month(first, 1)
    return months


async def ensure_months(conn: asyncpg.Connection, clock_now: datetime,
                        tables: tuple[str, ...] = PARTITIONED, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Creates the missing month partitions; returns the names of those it created."""
    database_now = await conn.fetchval("SELECT now()")
    created = []
    for table in tables:
        for month in months_to_cover(database_now, clock_now, ahead):
            if await conn.fetchval("SELECT shouhu_ensure_month($1, $2)", table, month):
                created.append(f"{table}_{month:%Y%m}")
    return created


async def partitions(conn: asyncpg.Connection, table: str) -> list[str]:
    """The partitions of `table`, by name (the default one included)."""
    rows = await conn.fetch("""SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                WHERE i.inhparent = $1::regclass ORDER BY c.relname""", table)
    return [row["relname"] for row in rows]

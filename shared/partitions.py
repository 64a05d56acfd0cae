"""Monthly partitions of the append-only trails (shared migration 0211: change_history and
read_audit, by the month of their time column, in UTC).

Every worker's housekeeping (`prune_loop`, daily) creates the partitions of the coming
months ahead, so that rows land in their month's partition rather than the default one
(which a month partition can no longer be carved out of once it holds that month's rows).
A replica more is harmless: creating a partition that exists is a no-op.

The months are counted from both the database's clock, which stamps the rows (`now()`
defaults), and the services' clock (shared/clock.py), which a rehearsal may run ahead.

The trails are append-only (no row is ever updated or deleted), so their retention is by
whole months: with `SHOUHU_TRAIL_RETENTION_MONTHS` set, the housekeeping detaches and drops
each month partition that ended more than that many months ago, by the database's clock.
Rows that landed in the default partition (written before their month had one) stay.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

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


async def drop_months_before(conn: asyncpg.Connection, keep_months: int,
                             tables: tuple[str, ...] = PARTITIONED) -> list[str]:
    """Detaches and drops the month partitions of `tables` older than the `keep_months`
    whole months before the database's current one; returns their names. The current month
    and the `keep_months` before it stay: a month is dropped only once all of it is past."""
    database_now = await conn.fetchval("SELECT now()")
    first_kept = _month(database_now.astimezone(timezone.utc).date(), -keep_months)
    dropped = []
    for table in tables:
        for name in await partitions(conn, table):
            suffix = re.fullmatch(rf"{table}_(\d{{4}})(\d{{2}})", name)
            if not suffix or date(int(suffix[1]), int(suffix[2]), 1) >= first_kept:
                continue
            # Detached first, so a reader never sees the parent while the table goes.
            async with conn.transaction():
                await conn.execute(f'ALTER TABLE "{table}" DETACH PARTITION "{name}"')
                await conn.execute(f'DROP TABLE "{name}"')
            dropped.append(name)
    return dropped

"""The visits scheduler's scan over 1,000,000 duty instances (goal: seconds, not minutes).

Setup (not timed): a throwaway database migrated like production; `--duties` duty rows
made by one INSERT … SELECT over generate_series: due dates spread over 400 days around
the as-of date, 90% fulfilled, the rest open; every open past duty already at the ladder
level it had reached the day before (what a scheduler running daily leaves behind).

Timed:
- "daily": `run_scan(as_of)`, the scan the worker runs each day: it finds the duties that
  cross a rung today (1, 7 or 14 days late) and those falling due within 3 days among the
  million rows, and writes their DutyDueSoon / ContactOverdue events to the outbox.
- "again": the same scan repeated (another replica, a restart): it must announce nothing.
- "cold": every open past duty reset to "never announced" and scanned at once, as after
  a long outage or a first import: every rung of every late duty is announced.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date
from pathlib import Path

from bench.common import Goal, infrastructure, rule
from services.visits.config import VisitsSettings
from services.visits.scanner import run_scan
from shared.db import create_pool
from shared.migrations import migrate
from tests.support.databases import create_database, drop_database

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "visits" / "migrations"
GOAL_SECONDS = 60.0  # "seconds, not minutes": under a minute
AS_OF = date(2026, 12, 1)

_GENERATE = """
INSERT INTO duties (id, pairing_id, child_id, caregiver_id, duty_kind, period_start, due_on, county_code,
                    township_code, village_code, school_id, status, overdue_level, due_soon_at)
SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
       (ARRAY['home_visit', 'talk', 'parent_call', 'letter'])[1 + i % 4],
       d - 29, d, '330102000000', '3301020' || lpad((1 + i % 20)::text, 2, '0') || '000',
       NULL, CASE WHEN i % 3 = 0 THEN NULL ELSE 'school-' || (i % 50) END,
       CASE WHEN (i / 400) % 10 = 0 THEN 'open' ELSE 'fulfilled' END,
       CASE WHEN (i / 400) % 10 <> 0 OR $1::date - 1 - d <= 0 THEN 0
            WHEN $1::date - 1 - d >= 14 THEN 3 WHEN $1::date - 1 - d >= 7 THEN 2 ELSE 1 END,
       CASE WHEN d < $1::date + 2 THEN now() END
  FROM generate_series(1, $2) AS i, LATERAL (SELECT $1::date - 200 + (i % 400) AS d) due
"""


async def run(duties: int) -> list[Goal]:
    infra = infrastructure()
    rule(f"visits overdue scan over {duties:,} duty instances")
    url = await create_database(infra, "benchvisitsscan")
    try:
        await migrate(url, "visits", MIGRATIONS)
        settings = VisitsSettings(database_url=url, statement_timeout_ms=600_000, scan_batch_size=1000)
        pool = await create_pool(settings)
        try:
            started = time.perf_counter()
            async with pool.acquire() as conn:
                await conn.execute(_GENERATE, AS_OF, duties, timeout=600)
                await conn.execute("ANALYZE duties", timeout=600)
            print(f"  generated {duties:,} duties in {time.perf_counter() - started:.1f} s (not timed)")

            timings = {}
            for label in ("daily", "again"):
                started = time.perf_counter()
                result = await run_scan(pool, settings, AS_OF)
                timings[label] = time.perf_counter() - started
                print(f"  {label:<6} scan: {timings[label]:6.2f} s  due soon {result.due_soon:,}, "
                      f"overdue events {result.overdue_events:,}")
            async with pool.acquire() as conn:
                reset = await conn.execute("UPDATE duties SET overdue_level = 0 WHERE status = 'open'"
                                           " AND due_on < $1", AS_OF, timeout=600)
                await conn.execute("VACUUM ANALYZE duties", timeout=600)
            started = time.perf_counter()
            result = await run_scan(pool, settings, AS_OF)
            cold = time.perf_counter() - started
            print(f"  cold   scan: {cold:6.2f} s  overdue events {result.overdue_events:,} "
                  f"({int(reset.split()[-1]):,} late duties, {result.overdue_events / cold:,.0f} events/s)")
        finally:
            await pool.close()
    finally:
        await drop_database(infra, url)
    goals = [Goal("daily scan over 1M duty instances", timings["daily"], "<=", GOAL_SECONDS, " s"),
             Goal("cold scan announcing every late duty", cold, "<=", GOAL_SECONDS, " s")]
    for goal in goals:
        print("  " + goal.line(), flush=True)
    return goals


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duties", type=int, default=1_000_000, help="duty instances (default 1,000,000)")


def main(args: argparse.Namespace) -> list[Goal]:
    try:
        from bench.common import quiet_logging
        quiet_logging()
    except ImportError:
        pass
    return asyncio.run(run(args.duties))


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m bench.visits_scan")
    add_arguments(cli)
    main(cli.parse_args())

"""The year's work summary of a 20,000-child county: DOCX, XLSX and PDF (goal: ≤ 5 s for
the three, one after the other, as a county officer downloads them).

Setup (not timed): a throwaway database migrated like production, its read model loaded
directly (what a year of events leaves there): `--children` children in 20 townships, one
record version each, 92 % paired, 36 contacts a child in the year (home visits, talks,
calls, by 5,000 caregivers), duties due every month, concerns, the townships' expected
counts.

Timed, through the real app (ASGI, no network), for 2025 as of 2025-12-31 with the previous
year compared: `GET /v1/summary` as JSON, DOCX, XLSX and PDF one after the other, and as
`format=zip` (the three documents from one computation of the figures), which the goal is
about.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import httpx

from bench.common import Goal, infrastructure, rule
from services.reports.app import create_app
from services.reports.config import ReportsSettings
from shared.migrations import migrate
from tests.support.auth import bearer
from tests.support.databases import create_database, drop_database

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "reports" / "migrations"
COUNTY = "330102000000"
GOAL_SECONDS = 5.0

# One year of a county, generated where it is stored. md5 of a number gives stable ids.
_LOAD = [
    """INSERT INTO child_versions (child_id, record_version, event_type, effective_at, county_code, township_code,
                                   village_code, school_id, status, categories, priority, age_band)
       SELECT md5('child' || n)::uuid, 1, 'ChildRegistered', timestamptz '2024-03-01' + (n % 300) * interval '1 day',
              '330102000000', '330102' || lpad((n % 20 + 1)::text, 3, '0') || '000',
              '330102' || lpad((n % 20 + 1)::text, 3, '0') || lpad((n % 15 + 1)::text, 3, '0'),
              'school-' || (n % 120), 'active', '{}', n % 10 = 0, 'primary'
         FROM generate_series(1, $1) n""",
    """INSERT INTO pairings (pairing_id, child_id, caregiver_id, role, county_code, township_code, village_code,
                             school_id, priority, started_on, recorded_at)
       SELECT md5('pairing' || n)::uuid, md5('child' || n)::uuid, md5('caregiver' || (n % 5000))::uuid, 'lead',
              '330102000000', '330102' || lpad((n % 20 + 1)::text, 3, '0') || '000',
              '330102' || lpad((n % 20 + 1)::text, 3, '0') || lpad((n % 15 + 1)::text, 3, '0'),
              'school-' || (n % 120), n % 10 = 0, date '2024-09-01' + (n % 200),
              timestamptz '2024-09-01' + (n % 200) * interval '1 day'
         FROM generate_series(1, $1) n WHERE n % 25 <> 0 AND n % 50 <> 1""",
    """INSERT INTO contacts (contact_id, child_id, caregiver_id, kind, occurred_at, recorded_at, county_code,
                             township_code, village_code, concern_raised)
       SELECT md5('contact' || n || '-' || k)::uuid, md5('child' || n)::uuid, md5('caregiver' || (n % 5000))::uuid,
              (ARRAY['home_visit', 'talk', 'parent_call', 'parent_video', 'letter', 'activity'])[k % 6 + 1],
              timestamptz '2025-01-01 02:00+00' + ((k * 10 + n % 10) % 365) * interval '1 day',
              timestamptz '2025-01-01 03:00+00' + ((k * 10 + n % 10) % 365) * interval '1 day',
              '330102000000', '330102' || lpad((n % 20 + 1)::text, 3, '0') || '000',
              '330102' || lpad((n % 20 + 1)::text, 3, '0') || lpad((n % 15 + 1)::text, 3, '0'), k = 7 AND n % 40 = 0
         FROM generate_series(1, $1) n, generate_series(1, 36) k""",
    """INSERT INTO duties (duty_id, child_id, caregiver_id, duty_kind, period_start, due_on, county_code, township_code,
                           village_code, school_id, scheduled_at, fulfilled_at)
       SELECT md5('duty' || n || '-' || m)::uuid, md5('child' || n)::uuid, md5('caregiver' || (n % 5000))::uuid,
              (ARRAY['home_visit', 'talk', 'parent_call'])[m % 3 + 1], make_date(2025, (m - 1) % 12 + 1, 1),
              (make_date(2025, (m - 1) % 12 + 1, 1) + interval '1 month - 1 day')::date,
              '330102000000', '330102' || lpad((n % 20 + 1)::text, 3, '0') || '000',
              '330102' || lpad((n % 20 + 1)::text, 3, '0') || lpad((n % 15 + 1)::text, 3, '0'),
              'school-' || (n % 120), make_date(2025, (m - 1) % 12 + 1, 1),
              CASE WHEN n % 9 <> 0 THEN make_date(2025, (m - 1) % 12 + 1, 1) + (n % 35) * interval '1 day' END
         FROM generate_series(1, $1 * 37 / 40) n, generate_series(1, 36) m""",
    """INSERT INTO concerns (concern_id, child_id, contact_id, severity, mandatory_report, raised_at, county_code,
                             township_code, village_code, escalation_level)
       SELECT md5('concern' || n)::uuid, md5('child' || n)::uuid, md5('contact' || n || '-7')::uuid,
              'moderate', n % 200 = 0, timestamptz '2025-01-01' + (n % 365) * interval '1 day',
              '330102000000', '330102' || lpad((n % 20 + 1)::text, 3, '0') || '000',
              '330102' || lpad((n % 20 + 1)::text, 3, '0') || lpad((n % 15 + 1)::text, 3, '0'), 'none'
         FROM generate_series(1, $1) n WHERE n % 40 = 0""",
    """INSERT INTO expected_counts (kind, code, township_code, expected, effective_at)
       SELECT 'township', '330102' || lpad(t::text, 3, '0') || '000', '330102' || lpad(t::text, 3, '0') || '000',
              $1 / 20 + 40, timestamptz '2024-03-01'
         FROM generate_series(1, 20) t""",
]


async def _load(url: str, children: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for statement in _LOAD:
            await conn.execute(statement, children)
        await conn.execute("ANALYZE")
        counts = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM child_versions) AS children, (SELECT count(*) FROM pairings) AS pairings,
                      (SELECT count(*) FROM contacts) AS contacts, (SELECT count(*) FROM duties) AS duties""")
        print("  read model: " + ", ".join(f"{value:,} {key}" for key, value in counts.items()))
    finally:
        await conn.close()


async def run(children: int) -> list[Goal]:
    infra = infrastructure()
    rule(f"reports: the year's work summary of a {children:,}-child county (DOCX + XLSX + PDF)")
    url = await create_database(infra, "benchreportssummary")
    try:
        await migrate(url, "reports", MIGRATIONS)
        started = time.perf_counter()
        await _load(url, children)
        print(f"  loaded in {time.perf_counter() - started:.1f} s (not timed)")
        settings = ReportsSettings(database_url=url, county_name="示范县", statement_timeout_ms=120_000)
        app = create_app(settings)
        headers = bearer(roles=["county_staff"], jurisdiction=COUNTY, subject="bench")
        params = {"from": "2025-01-01", "to": "2025-12-31", "as_of": "2025-12-31"}
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://reports", timeout=120) as client:
            timings: dict[str, float] = {}
            for format in ("json", "docx", "xlsx", "pdf", "zip"):
                started = time.perf_counter()
                response = await client.get("/v1/summary", params=params | {"format": format}, headers=headers)
                timings[format] = time.perf_counter() - started
                assert response.status_code == 200, response.text[:300]
                print(f"  {format:5} {timings[format]:5.2f} s  {len(response.content):>9,} bytes")
    finally:
        await drop_database(infra, url)
    separately = timings["docx"] + timings["xlsx"] + timings["pdf"]
    print(f"  three requests one after the other: {separately:.2f} s (each computes the figures)")
    goals = [Goal("the year's DOCX + XLSX + PDF (format=zip)", timings["zip"], "<=", GOAL_SECONDS, " s")]
    for goal in goals:
        print("  " + goal.line(), flush=True)
    return goals


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--summary-children", type=int, default=20_000,
                        help="children of the county whose year is summarised (default 20,000)")


def main(args: argparse.Namespace) -> list[Goal]:
    from bench.common import quiet_logging

    quiet_logging()
    return asyncio.run(run(args.summary_children))


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m bench.reports_summary")
    add_arguments(cli)
    main(cli.parse_args())

"""`python -m services.visits scan --as-of 2026-12-01`: runs one scheduler scan for that
date against the service's database and prints what it announced (as JSON)."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date

from services.visits.config import load_settings
from services.visits.scanner import run_scan
from shared.db import create_pool
from shared.logging import configure_logging


async def _scan(as_of: date) -> dict:
    settings = load_settings()
    pool = await create_pool(settings)
    try:
        return (await run_scan(pool, settings, as_of)).as_dict()
    finally:
        await pool.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.visits scan")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True, help="YYYY-MM-DD, the county's date")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging("visits", settings.log_level)
    if args.as_of > settings.clock.today() and not settings.allow_future_scans:
        parser.error("--as-of is in the future; set SHOUHU_VISITS_ALLOW_FUTURE_SCANS=true to allow it")
    print(json.dumps(asyncio.run(_scan(args.as_of))))
    return 0

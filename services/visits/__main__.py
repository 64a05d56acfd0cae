"""python -m services.visits api|worker|migrate, and `scan --as-of YYYY-MM-DD` (a one-off
scheduler scan for that date: backfills, tests)."""

import sys

from services.visits.entry import ENTRY
from shared.entrypoint import run

if len(sys.argv) > 1 and sys.argv[1] == "scan":
    from services.visits.cli import main as scan_main

    sys.exit(scan_main(sys.argv[2:]))
run(ENTRY)

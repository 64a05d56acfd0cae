"""Writes the contract snapshot (JSON Schema per event) and the AsyncAPI document.

    python -m shared.contracts.generate          # refuses a breaking change
    python -m shared.contracts.generate --check  # exits 1 if the files are stale

A breaking change is never written over the snapshot: publish a new event version
beside the old one instead (a new class with version = 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shared.contracts.asyncapi import build_asyncapi
from shared.contracts.compat import breaking_changes
from shared.contracts.events import ALL_EVENTS

SCHEMA_DIR = Path(__file__).parent / "schema"
SNAPSHOT = SCHEMA_DIR / "events.schema.json"
ASYNCAPI = SCHEMA_DIR / "asyncapi.json"


def build_snapshot() -> dict[str, Any]:
    return {
        "description": "Shouhu event contract: the data of each CloudEvent, by ce_type.",
        "events": {cls.cloudevent_type(): cls.model_json_schema() for cls in ALL_EVENTS},
    }


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    snapshot, asyncapi = build_snapshot(), build_asyncapi()
    if SNAPSHOT.exists():
        problems = breaking_changes(json.loads(SNAPSHOT.read_text("utf-8")), snapshot)
        if problems:
            print("breaking changes, not written:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
    wanted = {SNAPSHOT: _dump(snapshot), ASYNCAPI: _dump(asyncapi)}
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text("utf-8") != text]
    if args.check:
        for path in stale:
            print(f"stale: {path} (run python -m shared.contracts.generate)", file=sys.stderr)
        return 1 if stale else 0
    SCHEMA_DIR.mkdir(exist_ok=True)
    for path in stale:
        path.write_text(wanted[path], "utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

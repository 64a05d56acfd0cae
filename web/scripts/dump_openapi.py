"""Writes each service's OpenAPI document to web/src/api/<service>.json without running a
server: the app is built with the service's own settings (its defaults; nothing connects
until an app's lifespan starts) and asked for app.openapi().

    python web/scripts/dump_openapi.py      (from the repository root; npm run api does it)
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "pairing", "visits", "notify", "reports")


def dump(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SERVICES:
        entry = importlib.import_module(f"services.{name}.entry").ENTRY
        document = entry.create_app(entry.load_settings()).openapi()
        path = target / f"{name}.json"
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    for written in dump(REPO / "web" / "src" / "api"):
        print(written.relative_to(REPO))

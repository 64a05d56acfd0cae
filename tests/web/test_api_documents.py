"""The console's API client is generated from the services' OpenAPI documents: the committed
documents and types must be what the services answer today (`npm run api` regenerates them)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.processes import REPO

WEB = REPO / "web"
SERVICES = ("registry", "pairing", "visits", "notify")


def test_the_committed_openapi_documents_are_the_services_own(tmp_path) -> None:
    dumped = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, 'web/scripts'); from pathlib import Path; "
                               f"import dump_openapi; dump_openapi.dump(Path({str(tmp_path)!r}))"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert dumped.returncode == 0, dumped.stderr
    for name in SERVICES:
        fresh = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        committed = json.loads((WEB / "src" / "api" / f"{name}.json").read_text(encoding="utf-8"))
        assert fresh == committed, f"{name}'s API changed: run `npm run api` in web/ and commit the result"
        assert fresh["paths"], name


@pytest.mark.parametrize("name", SERVICES)
def test_the_committed_types_are_generated_from_the_documents(name: str) -> None:
    generated = subprocess.run(["node_modules/.bin/openapi-typescript", f"src/api/{name}.json"], cwd=WEB,
                               capture_output=True, text=True, timeout=120)
    assert generated.returncode == 0, generated.stderr
    assert generated.stdout == (WEB / "src" / "api" / f"{name}.d.ts").read_text(encoding="utf-8"), \
        f"src/api/{name}.d.ts is stale: run `npm run api` in web/"

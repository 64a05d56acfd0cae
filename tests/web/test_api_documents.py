"""The console's API client is generated from the services' own OpenAPI documents at build time
(web/scripts/api.sh, run by `npm run build`) and never committed, so it cannot fall behind a
service. What a generated client must give the console: a type for every success body and
the problem+json type for every error, in each of the five services' documents."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO

WEB = REPO / "web"
SERVICES = ("registry", "pairing", "visits", "notify", "reports")
PROBLEM = 'components["schemas"]["Problem"]'


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """The documents and types made as the build makes them, into a folder of the test's own."""
    target = tmp_path_factory.mktemp("api")
    dumped = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, 'web/scripts'); from pathlib import Path; "
                               f"import dump_openapi; dump_openapi.dump(Path({str(target)!r}))"],
        cwd=REPO, capture_output=True, text=True, timeout=180)
    assert dumped.returncode == 0, dumped.stderr
    for name in SERVICES:
        typed = subprocess.run(["node_modules/.bin/openapi-typescript", str(target / f"{name}.json"),
                                "-o", str(target / f"{name}.d.ts")], cwd=WEB, capture_output=True, text=True,
                               timeout=120)
        assert typed.returncode == 0, typed.stderr
    return target


def _responses(types: str) -> list[tuple[str, str, str]]:
    """(operation, status, the response's content block) for every response of every operation."""
    operations = types.split("export interface operations {", 1)[1]
    found = []
    for operation, body in re.findall(r"\n    (\w+): \{\n(.*?)\n    \};", operations, flags=re.S):
        responses = body.split("responses: {", 1)[1]
        for status, block in re.findall(r"\n            (\d{3}|default): \{\n(.*?)\n            \};", responses, flags=re.S):
            found.append((operation, status, block))
    return found


@pytest.mark.parametrize("name", SERVICES)
def test_every_success_and_every_error_body_is_typed(generated: Path, name: str) -> None:
    document = json.loads((generated / f"{name}.json").read_text(encoding="utf-8"))
    types = (generated / f"{name}.d.ts").read_text(encoding="utf-8")
    responses = _responses(types)
    operations = sum(1 for methods in document["paths"].values() for method in methods)
    assert len({operation for operation, _, _ in responses}) == operations, "an operation was not read"
    for operation, status, block in responses:
        if status.startswith(("4", "5")):
            assert f'"application/problem+json": {PROBLEM}' in block, f"{operation} {status}: error body untyped"
        elif status != "204":
            assert "content: {" in block, f"{operation} {status}: success body undeclared"
            assert not re.search(r'": unknown;', block), f"{operation} {status}: success body typed as unknown"


def test_the_generated_client_is_not_committed() -> None:
    """The console's build makes it; a committed copy could only drift from the services."""
    committed = subprocess.run(["git", "ls-files", "web/src/api"], cwd=REPO, capture_output=True, text=True,
                               timeout=30).stdout.split()
    assert committed and not [path for path in committed if path.endswith((".json", ".d.ts"))], committed

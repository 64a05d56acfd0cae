"""`make sbom` (scripts/sbom) writes CycloneDX JSON for the Python lock and for web/, from the
lock files alone (offline): each names its components with versions and package URLs."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_lock_files import LOCKS, parse_lock

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sboms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    python = os.environ.get("SHOUHU_SBOM_PYTHON", sys.executable)
    if python == sys.executable and importlib.util.find_spec("cyclonedx_py") is None:
        message = "cyclonedx-bom is not installed (a [test] extra: make bootstrap installs requirements/test.lock)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("sbom")
    done = subprocess.run([str(REPO / "scripts" / "sbom"), str(out)], env=dict(os.environ, PYTHON=python),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return {name: json.loads((out / f"{name}.cdx.json").read_text(encoding="utf-8")) for name in ("python", "web")}


def components(bom: dict) -> dict[str, dict]:
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] >= "1.5"
    return {c["name"].lower(): c for c in bom["components"]}


def test_python_sbom_lists_exactly_the_runtime_lock(sboms) -> None:
    found = components(sboms["python"])
    locked = parse_lock(LOCKS["runtime"])
    assert {name: c["version"] for name, c in found.items()} == {name: v for name, (v, _) in locked.items()}
    assert found["fastapi"]["purl"] == f"pkg:pypi/fastapi@{locked['fastapi'][0]}"
    assert "pytest" not in found   # the image's dependencies only, not the tests'


def test_web_sbom_lists_the_console_dependencies_from_the_npm_lock(sboms) -> None:
    found = components(sboms["web"])
    lock = json.loads((REPO / "web" / "package-lock.json").read_text(encoding="utf-8"))
    for name in ("vue", "vue-router", "element-plus", "vite"):
        assert found[name]["version"] == lock["packages"][f"node_modules/{name}"]["version"], name
        assert found[name]["purl"].startswith(f"pkg:npm/{name}@")
    assert any(h["alg"] == "SHA-512" for h in found["vue"].get("hashes", [])), "npm's integrity hash is missing"


def test_python_sbom_is_reproducible(sboms, tmp_path: Path) -> None:
    """Same lock, same bytes: the SBOM of a release can be rebuilt and compared."""
    python = os.environ.get("SHOUHU_SBOM_PYTHON", sys.executable)
    again = tmp_path / "python.cdx.json"
    subprocess.run([python, "-m", "cyclonedx_py", "requirements", "--output-reproducible", "--output-format", "JSON",
                    "--output-file", str(again), str(LOCKS["runtime"])], capture_output=True, check=True, timeout=300)
    assert json.loads(again.read_text(encoding="utf-8")) == sboms["python"]

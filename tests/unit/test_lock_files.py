"""The hashed lock files (requirements/*.lock, `make lock`) hold every dependency pyproject.toml
declares, at a version it allows, and pin every line by hash (pip --require-hashes refuses a lock
with one unhashed line, and an install from it must not resolve anything on its own)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCKS = {"runtime": REPO / "requirements" / "runtime.lock", "test": REPO / "requirements" / "test.lock"}
PINNED = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+?)(?: ; .*)?\s*\\?$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


def declared() -> dict[str, list[Requirement]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    return {"runtime": runtime, "test": runtime + [Requirement(r) for r in project["optional-dependencies"]["test"]]}


def parse_lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes); fails on any line that is neither a pin, a hash, nor a comment."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if raw[0].isspace():
            option = line.rstrip("\\").strip()
            assert current and HASH.match(option), f"{path.name}:{number}: unexpected {line!r}"
            pins[current][1].append(option)
            continue
        match = PINNED.match(line)
        # No index, find-links or editable lines: the lock names PyPI's files and nothing else.
        assert match, f"{path.name}:{number}: not an exact pin: {line!r}"
        current = canonicalize_name(match["name"])
        assert current not in pins, f"{path.name}: {current} twice"
        pins[current] = (match["version"], [])
    return pins


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_locked_package_is_pinned_with_hashes(lock: str) -> None:
    pins = parse_lock(LOCKS[lock])
    assert pins, f"{lock}.lock is empty"
    unhashed = sorted(name for name, (_, hashes) in pins.items() if not hashes)
    assert not unhashed, f"{lock}.lock: no --hash for {unhashed}"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_covers_every_declared_dependency_at_an_allowed_version(lock: str) -> None:
    pins = parse_lock(LOCKS[lock])
    problems = []
    for requirement in declared()[lock]:
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement} is not in {lock}.lock")
        elif not requirement.specifier.contains(Version(pins[name][0]), prereleases=True):
            problems.append(f"{requirement} but {lock}.lock has {pins[name][0]}")
    assert not problems, "pyproject.toml and the lock disagree (run `make lock`):\n  " + "\n  ".join(problems)


def test_runtime_and_test_locks_agree_on_every_shared_package() -> None:
    runtime, test = parse_lock(LOCKS["runtime"]), parse_lock(LOCKS["test"])
    assert set(runtime) <= set(test), f"only in runtime.lock: {sorted(set(runtime) - set(test))}"
    differ = {name: (version, test[name][0]) for name, (version, _) in runtime.items() if test[name][0] != version}
    assert not differ, f"runtime.lock and test.lock pin different versions: {differ}"


def test_the_image_and_bootstrap_install_from_the_locks_with_hashes_only() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    installs = re.findall(r"pip install [^\n\\]*", dockerfile)
    assert installs and all("--no-deps" in line for line in installs), installs
    assert dockerfile.count("--require-hashes --no-deps -r /tmp/runtime.lock") == 2   # openapi stage, runtime stage
    bootstrap = (REPO / "scripts" / "bootstrap").read_text(encoding="utf-8")
    assert "--require-hashes --no-deps -r requirements/test.lock" in bootstrap
    assert "pip install -e '.[test]'" not in bootstrap.split("set -euo pipefail", 1)[1]


def test_parse_lock_rejects_an_unhashed_or_unpinned_line(tmp_path: Path) -> None:
    """The checks above can fail: a range, and a pin without hashes, are both caught."""
    bad = tmp_path / "bad.lock"
    bad.write_text("fastapi>=0.115 \\\n    --hash=sha256:" + "a" * 64 + "\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="not an exact pin"):
        parse_lock(bad)
    bad.write_text("fastapi==0.115.0\n", encoding="utf-8")
    assert parse_lock(bad) == {"fastapi": ("0.115.0", [])}

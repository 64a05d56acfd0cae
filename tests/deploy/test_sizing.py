"""Every container's limits meet the floors docs/operations.md states ("Container limits").

The table in the operator's guide is the one source: this test parses it, renders every
overlay and fails when a limit is under its floor or a container has no row (so an overlay's
patch can never quietly undercut a measured need, as a blanket 1Gi on every api once did).
"""

from __future__ import annotations

import copy
import fnmatch
import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.deploy.conftest import OVERLAYS, REPO, by_kind

GUIDE = REPO / "docs" / "operations.md"
MARKER = "<!-- container-limits:"
MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "": 1}
JVM_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30, "": 1}


@dataclass(frozen=True)
class Floor:
    patterns: tuple[str, ...]
    overlays: frozenset[str]
    memory: int
    cpu: float | None  # None: no CPU limit is required


def memory_bytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(quantity)).groups()  # type: ignore[union-attr]
    return int(float(number) * MEMORY_UNITS[unit])


def cpu_cores(quantity: str | int | float) -> float:
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def parse_floors(text: str) -> list[Floor]:
    _, found, after = text.partition(MARKER)
    assert found, f"{GUIDE.name} has no {MARKER} table"
    lines = after.splitlines()[1:]
    rows = []
    for line in lines[2:]:  # header and separator
        if not line.startswith("|"):
            break
        workload, overlays, memory, cpu, _why = (cell.strip() for cell in line.strip("|").split("|"))
        patterns = tuple(re.findall(r"`([^`]+)`", workload))
        assert patterns, f"no workload name in {line!r}"
        names = frozenset(OVERLAYS) if overlays == "all" else frozenset(o.strip() for o in overlays.split(","))
        assert names <= set(OVERLAYS), f"unknown overlay in {line!r}"
        rows.append(Floor(patterns, names, memory_bytes(memory), None if cpu == "–" else cpu_cores(cpu)))
    assert len(rows) >= 5, "the container-limits table lost its rows"
    return rows


@pytest.fixture(scope="module")
def floors() -> list[Floor]:
    return parse_floors(GUIDE.read_text(encoding="utf-8"))


def limited(resources: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(workload name, resources) of every container of the overlay: pods, databases, Kafka."""
    out = []
    for resource in resources:
        if resource["kind"] in ("Deployment", "Job"):
            out += [(resource["metadata"]["name"], c.get("resources", {}))
                    for c in resource["spec"]["template"]["spec"]["containers"]]
        elif resource["kind"] in ("Cluster", "KafkaNodePool"):
            out.append((resource["metadata"]["name"], resource["spec"].get("resources", {})))
    return out


def violations(overlay: str, resources: list[dict[str, Any]], floors: list[Floor]) -> list[str]:
    problems = []
    for name, bounds in limited(resources):
        matching = [f for f in floors if overlay in f.overlays and any(fnmatch.fnmatchcase(name, p) for p in f.patterns)]
        if len(matching) != 1:
            problems.append(f"{name}: {len(matching)} rows of the container-limits table apply, expected 1")
            continue
        [floor] = matching
        limits = bounds.get("limits", {})
        if "memory" not in limits or memory_bytes(limits["memory"]) < floor.memory:
            problems.append(f"{name}: memory limit {limits.get('memory')} is under its floor ({floor.memory} bytes)")
        if floor.cpu is not None and ("cpu" not in limits or cpu_cores(limits["cpu"]) < floor.cpu):
            problems.append(f"{name}: CPU limit {limits.get('cpu')} is under its floor ({floor.cpu})")
    return problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_gets_at_least_what_the_guide_says_it_needs(rendered, floors, overlay: str) -> None:
    problems = violations(overlay, rendered(overlay), floors)
    assert not problems, f"{overlay}:\n" + "\n".join(problems)


def test_a_patch_that_undercuts_a_measured_need_is_caught(rendered, floors) -> None:
    """The check is not vacuous: the province's apis all at 1Gi (the registry needs 1536Mi) fail."""
    resources = copy.deepcopy(rendered("province"))
    for deployment in by_kind(resources, "Deployment").values():
        if deployment["metadata"]["name"].endswith("-api"):
            deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "1Gi"
    assert violations("province", resources, floors) == [
        "registry-api: memory limit 1Gi is under its floor (1610612736 bytes)"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_heap_leaves_half_its_memory_to_the_page_cache(rendered, overlay: str) -> None:
    pool = by_kind(rendered(overlay), "KafkaNodePool")["combined"]["spec"]
    number, unit = re.fullmatch(r"([0-9]+)([kmgKMG]?)", pool["jvmOptions"]["-Xmx"]).groups()  # type: ignore[union-attr]
    heap = int(number) * JVM_UNITS[unit.lower()]
    assert 2 * heap <= memory_bytes(pool["resources"]["limits"]["memory"]), f"{overlay}: Kafka heap {heap}"

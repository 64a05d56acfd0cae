"""`make up` / `make down` (scripts/stack) and the operations CLI against that real stack.

The stack runs beside anything a developer has running: its own databases, ports, topic
prefix and state folder (SHOUHU_STACK_DIR), and a small demo county (SHOUHU_DEMO_CHILDREN).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from services.demo import COUNTY as DEMO_COUNTY
from tests.support import stack_up
from tests.support.processes import REPO
from tests.support.waiting import wait_for

SERVICES = stack_up.SERVICES


@pytest.fixture(scope="module")
def stack_env(infra, tmp_path_factory) -> dict[str, str]:
    return stack_up.stack_env(infra, tmp_path_factory.mktemp("stack"), children=40)


@pytest.fixture(scope="module")
def stack(stack_env) -> Iterator[subprocess.CompletedProcess]:
    with stack_up.running_stack(stack_env) as up:
        yield up


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_up_prints_urls_and_a_working_token_and_the_gateway_serves_every_api(stack, stack_env) -> None:
    gateway = f"http://127.0.0.1:{stack_env['SHOUHU_GATEWAY_PORT']}"
    assert gateway in stack.stdout
    token = next(line.split("TOKEN=", 1)[1] for line in stack.stdout.splitlines() if "export TOKEN=" in line)
    headers = {"Authorization": f"Bearer {token.strip()}"}
    children = httpx.get(f"{gateway}/registry/v1/children?limit=100", headers=headers, timeout=10)
    assert children.status_code == 200 and len(children.json()["items"]) == 40
    for name in SERVICES:
        assert httpx.get(f"{gateway}/{name}/readyz", timeout=10).status_code == 200
        assert httpx.get(f"{gateway}/{name}/metrics", timeout=10).status_code == 404  # not through the gateway
    seeded = json.loads(Path(stack_env["SHOUHU_STACK_DIR"], "logs", "seed.log").read_text().splitlines()[-1])
    assert seeded["children"] == 40 and seeded["pairings"] > 0 and seeded["contacts"] > 0


def test_seeding_again_changes_nothing(stack, stack_env) -> None:
    before = _cli(stack_env, "seed", "--children", "40")
    assert before.returncode == 0, before.stderr
    gateway = f"http://127.0.0.1:{stack_env['SHOUHU_GATEWAY_PORT']}"
    token = _cli(stack_env, "token", "--role", "county_staff", "--jurisdiction", DEMO_COUNTY).stdout.strip()
    children = httpx.get(f"{gateway}/registry/v1/children?limit=500", headers={"Authorization": f"Bearer {token}"},
                         timeout=10)
    assert len(children.json()["items"]) == 40


def test_cli_status_migrate_dead_letters_reconcile_and_replay(stack, stack_env) -> None:
    status = _cli(stack_env, "status")
    assert status.returncode == 0, status.stderr
    rows = [json.loads(line) for line in status.stdout.splitlines()]
    assert [row["service"] for row in rows] == list(SERVICES)
    assert all({"outbox_pending", "consumer_lag", "dead_letters_open"} <= row.keys() for row in rows)

    migrate = _cli(stack_env, "migrate")
    assert migrate.returncode == 0 and all(f"{name}: 0 applied" in migrate.stdout for name in SERVICES)

    dead = _cli(stack_env, "dead-letters", "notify")
    assert dead.returncode == 0

    reconcile = _cli(stack_env, "reconcile", "registry", "--dry-run", "--orphans", "--hours", "1")
    assert reconcile.returncode == 0, reconcile.stderr
    report = json.loads(reconcile.stdout)
    # Every registry event on Kafka (the 40 demo children's) is still in its outbox.
    assert report["missing (dry run)"] == 0 and report["on kafka, not in the outbox"] == []

    replay = _cli(stack_env, "replay", "notify", "999999")
    assert replay.returncode == 1 and "999999: not found" in replay.stdout


def test_a_worker_killed_9_is_started_again_by_the_stack_and_says_so(stack, stack_env) -> None:
    run, logs = Path(stack_env["SHOUHU_STACK_DIR"], "run"), Path(stack_env["SHOUHU_STACK_DIR"], "logs")
    assert Path(run, "pairing-worker.alive").exists(), "the heartbeat lives in the stack's own folder"
    killed = int(Path(run, "pairing-worker.child").read_text())
    os.kill(killed, signal.SIGKILL)

    async def restarted() -> int:
        pid = int(Path(run, "pairing-worker.child").read_text())
        return pid if pid != killed and Path(f"/proc/{pid}").exists() else 0

    asyncio.run(wait_for(restarted, timeout=60, interval=0.3, what="the stack to start the worker again"))
    assert Path(run, "pairing-worker.restarts").read_text().strip() == "1"
    assert f"pairing worker (pid {killed}) exited with status 137" in Path(logs, "stack.log").read_text()
    status = subprocess.run(["scripts/stack", "status"], cwd=REPO, env=stack_env, capture_output=True, text=True,
                            timeout=30)
    assert "pairing worker: running" in status.stdout and "restarted 1 times" in status.stdout, status.stdout

    async def reporting_again() -> dict:
        rows = [json.loads(line) for line in _cli(stack_env, "status").stdout.splitlines()]
        pairing = next(row for row in rows if row["service"] == "pairing")
        scraped = httpx.get(f"http://127.0.0.1:{stack_env['SHOUHU_PAIRING_WORKER_METRICS_PORT']}/metrics", timeout=5)
        return pairing if pairing["workers"] == "ok" and "shouhu_relay_published_events_total" in scraped.text else {}

    # The new worker serves its metrics and reports its consumers again (figures a few seconds old).
    pairing = asyncio.run(wait_for(reporting_again, timeout=60, interval=1, what="the new worker reporting"))
    assert all(c["reported_s_ago"] < 60 for c in pairing["consumers"].values())


def test_down_stops_everything_it_started(stack_env, stack) -> None:
    down = subprocess.run(["scripts/stack", "down"], cwd=REPO, env=stack_env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert down.returncode == 0
    status = subprocess.run(["scripts/stack", "status"], cwd=REPO, env=stack_env, capture_output=True, text=True,
                            timeout=30)
    assert "running" not in status.stdout, status.stdout
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{stack_env['SHOUHU_GATEWAY_PORT']}/healthz", timeout=5)

"""Worker liveness: the heartbeat moves while every loop progresses, and stops when one stalls."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from shared.liveness import heartbeat_age_s, stalled_loops
from shared.worker import run_worker
from tests.support.plumbing import create_plumbing_database, plumbing_settings
from tests.support.processes import REPO
from tests.support.waiting import wait_for


@dataclass
class FakeLoop:
    name: str
    last_progress_monotonic: float


def test_a_loop_without_progress_past_the_limit_is_stalled() -> None:
    now = time.monotonic()
    loops = [FakeLoop("relay", now - 5), FakeLoop("consumer", now - 500)]
    assert stalled_loops(loops, now=now, stall_after_s=120) == ["consumer"]
    assert stalled_loops(loops[:1], now=now, stall_after_s=120) == []


async def test_a_running_worker_keeps_its_heartbeat_and_the_probe_reads_it(infra, topic_prefix, tmp_path) -> None:
    heartbeat = tmp_path / "worker.alive"
    url = await create_plumbing_database(infra)
    settings = plumbing_settings(infra, url, topic_prefix, worker_heartbeat_file=str(heartbeat))
    worker = asyncio.create_task(run_worker(settings, lambda _settings, _pool: []))
    try:
        await wait_for(lambda: _fresh(heartbeat), timeout=30, what="the worker's first heartbeat")
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)

    env = {**os.environ, "SHOUHU_PAIRING_WORKER_HEARTBEAT_FILE": str(heartbeat)}
    probe = subprocess.run([sys.executable, "-m", "shared.cli", "alive", "pairing", "--max-age", "60"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    os.utime(heartbeat, (time.time() - 600, time.time() - 600))  # as if the loops had stopped
    stale = subprocess.run([sys.executable, "-m", "shared.cli", "alive", "pairing", "--max-age", "60"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert stale.returncode == 1 and "no progress" in stale.stderr


async def _fresh(path: Path) -> bool:
    age = heartbeat_age_s(path)
    return age is not None and age < 10

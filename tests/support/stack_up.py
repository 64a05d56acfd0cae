"""`scripts/stack up` beside anything a developer has running: its own databases (on the test
session's PostgreSQL), Kafka topic prefix, ports and state folder, and a small demo county.
Used by the stack's smoke test and the console's browser tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.support.databases import create_database
from tests.support.infra import Infrastructure
from tests.support.processes import REPO, free_port

SERVICES = ("registry", "pairing", "visits", "notify", "reports")


def stack_env(infra: Infrastructure, stack_dir: Path, *, children: int = 40) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SHOUHU_")}
    env["SHOUHU_ENV"] = "development"
    for name in SERVICES:
        url = asyncio.run(create_database(infra, name))
        env[f"SHOUHU_{name.upper()}_DATABASE_URL"] = url
        env[f"SHOUHU_{name.upper()}_HTTP_PORT"] = str(free_port())
        env[f"SHOUHU_{name.upper()}_WORKER_METRICS_PORT"] = str(free_port())
    env.update({
        "SHOUHU_STACK_INFRA": "external",   # the test session's PostgreSQL and Kafka
        "SHOUHU_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "SHOUHU_KAFKA_TOPIC_PREFIX": infra.new_topic_prefix("smoke"),
        "SHOUHU_GATEWAY_PORT": str(free_port()),
        "SHOUHU_STACK_DIR": str(stack_dir),
        "SHOUHU_DEMO_CHILDREN": str(children),
    })
    return env


@contextmanager
def running_stack(env: dict[str, str]) -> Iterator[subprocess.CompletedProcess]:
    up = subprocess.run(["scripts/stack", "up"], cwd=REPO, env=env, capture_output=True, text=True,
                        timeout=900, stdin=subprocess.DEVNULL)
    try:
        assert up.returncode == 0, f"stack up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
        yield up
    finally:
        down = subprocess.run(["scripts/stack", "down"], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)
        assert down.returncode == 0, down.stderr

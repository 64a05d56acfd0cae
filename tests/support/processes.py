"""Real service processes for the end-to-end tests: `python -m services.<name> api|worker`,
each with its own database, on a free loopback port, logging to a file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ServiceProcess:
    name: str
    role: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}", self.role],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def kill_hard(self) -> None:
        """kill -9: no cleanup, no offset commit, no goodbye."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill_hard()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Service:
    name: str
    database_url: str
    base_url: str
    api: ServiceProcess
    worker: ServiceProcess
    env: dict[str, str] = field(default_factory=dict)


# The clock (shared/clock.py) follows the test run into every process it starts: a run with
# the clock moved ahead moves its services too.
CLOCK_ENV = ("SHOUHU_CLOCK_OFFSET", "SHOUHU_CLOCK_NOW", "SHOUHU_COUNTY_TIMEZONE")


def clock_env() -> dict[str, str]:
    return {key: os.environ[key] for key in CLOCK_ENV if key in os.environ}


def service_env(name: str, *, database_url: str, port: int, kafka: str, topic_prefix: str,
                group: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    prefix = f"SHOUHU_{name.upper()}_"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("SHOUHU_") or key in CLOCK_ENV}
    env["SHOUHU_ENV"] = "development"
    env.update({
        f"{prefix}DATABASE_URL": database_url,
        f"{prefix}HTTP_PORT": str(port),
        f"{prefix}CONSUMER_GROUP": group,
        f"{prefix}RELAY_POLL_INTERVAL_S": "0.5",
        f"{prefix}CONSUMER_PARKED_RETRY_INTERVAL_S": "0.5",
        f"{prefix}CONSUMER_RETRY_BASE_S": "0.02",
        "SHOUHU_KAFKA_BOOTSTRAP_SERVERS": kafka,
        "SHOUHU_KAFKA_TOPIC_PREFIX": topic_prefix,
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


async def wait_ready(service: Service, timeout: float = 45.0) -> None:
    async def ready() -> bool:
        for process in (service.api, service.worker):
            if process.process and process.process.poll() is not None:
                raise AssertionError(f"{service.name} {process.role} exited:\n{process.log_text()[-3000:]}")
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                return (await client.get(f"{service.base_url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_for(ready, timeout=timeout, interval=0.2, what=f"{service.name} /readyz")

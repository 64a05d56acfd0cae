"""`make chaos` (python -m bench.chaos): faults on the real stack under a steady load.

What it does, all of it on its own PostgreSQL and Kafka (scripts/infra with
SHOUHU_INFRA_DIR and other ports) and its own stack (scripts/stack with its own ports and
folder), so nothing else on the machine is disturbed:

1. starts them, loads a small demo county, then a steady load of registrations and contacts
   (bench/chaos_ledger.py: every acknowledged write in a client-side ledger);
2. kills -9 each worker in turn; stops Kafka for 30 s; stops PostgreSQL for 15 s. Nobody
   restarts anything by hand: the stack's supervisor restarts the killed workers, the
   services wait for their dependencies;
3. after each fault, waits for convergence: every write acknowledged so far exists once in
   its service and was applied once by every consumer of its event, no outbox row pending.

It fails (exit 1) unless every fault converged within 30 s of its end, nothing acknowledged
was lost or doubled, and every request got a 2xx or a 503 with Retry-After. It prints acked,
lost, duplicated, 503s and the recovery seconds per fault. `--short` is the subset the test
suite runs: one worker killed and PostgreSQL stopped for 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.chaos_ledger import SERVICES, Checker, Ledger, Load, paired_children

REPO = Path(__file__).resolve().parents[1]
CONVERGE_WITHIN_S = 30.0


@dataclass(frozen=True)
class Plan:
    kill_workers: tuple[str, ...] = SERVICES
    kafka_down_s: float = 30.0
    postgres_down_s: float = 15.0
    rate: float = 10.0  # logical writes a second
    demo_children: int = 10
    settle_s: float = 5.0  # load before the first fault
    own_kafka: bool = True  # False: the caller's Kafka (never stopped), with a topic prefix of its own


SHORT = Plan(kill_workers=("pairing",), kafka_down_s=0.0, postgres_down_s=5.0, demo_children=10, settle_s=3.0,
             own_kafka=False)


@dataclass
class Report:
    recovery_s: dict[str, float | None] = field(default_factory=dict)
    ledger: Ledger = field(default_factory=Ledger)
    lost: int = 0
    duplicated: int = 0
    restarts: dict[str, int] = field(default_factory=dict)
    detail: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        recovered = all(s is not None and s <= CONVERGE_WITHIN_S for s in self.recovery_s.values())
        return recovered and self.lost == 0 and self.duplicated == 0 and not self.ledger.violations

    def figures(self) -> dict[str, Any]:
        return {"acked": self.ledger.acked(), "lost": self.lost, "duplicated": self.duplicated,
                "503s": self.ledger.answers["503+retry-after"], "answers": dict(self.ledger.answers),
                "violations": self.ledger.violations[:20], "recovery_s": self.recovery_s,
                "worker_restarts_by_the_stack": self.restarts, "passed": self.passed}


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateInfra:
    """scripts/infra in a folder of its own, on ports of its own."""

    def __init__(self, folder: Path) -> None:
        self.env = {**os.environ, "SHOUHU_INFRA_DIR": str(folder), "SHOUHU_PG_PORT": str(_free_port()),
                    "SHOUHU_KAFKA_PORT": str(_free_port()), "SHOUHU_KAFKA_CONTROLLER_PORT": str(_free_port()),
                    "SHOUHU_KAFKA_HEAP": "512m"}
        self._folder = folder

    def run(self, command: str) -> None:
        done = subprocess.run([str(REPO / "scripts" / "infra"), command], env=self.env, capture_output=True,
                              text=True, timeout=300, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"scripts/infra {command} failed:\n{done.stderr[-3000:]}")

    def addresses(self) -> dict[str, str]:
        pg = f"postgresql://shouhu:shouhu@127.0.0.1:{self.env['SHOUHU_PG_PORT']}"
        return {"kafka": f"127.0.0.1:{self.env['SHOUHU_KAFKA_PORT']}",
                **{name: f"{pg}/shouhu_{name}" for name in SERVICES}}

    def remove(self) -> None:
        pg = self._folder / "pg"
        if pg.is_symlink():  # the cluster went to /var/tmp (the folder was not reachable for postgres)
            shutil.rmtree(pg.resolve().parent, ignore_errors=True)
        shutil.rmtree(self._folder, ignore_errors=True)


class Stack:
    def __init__(self, folder: Path, addresses: dict[str, str], demo_children: int, topic_prefix: str) -> None:
        # The caller's settings stay out, except the clock (a run with the clock moved moves the stack).
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("SHOUHU_") or key.startswith(("SHOUHU_CLOCK_", "SHOUHU_COUNTY_"))}
        env.update({"SHOUHU_KAFKA_TOPIC_PREFIX": topic_prefix,
                    "SHOUHU_ENV": "development", "SHOUHU_STACK_INFRA": "external", "SHOUHU_STACK_DIR": str(folder),
                    "SHOUHU_STACK_CONSOLE": "off", "SHOUHU_DEMO_CHILDREN": str(demo_children),
                    "SHOUHU_KAFKA_BOOTSTRAP_SERVERS": addresses["kafka"], "SHOUHU_GATEWAY_PORT": str(_free_port())})
        self.urls: dict[str, str] = {}
        for name in SERVICES:
            port = _free_port()
            env[f"SHOUHU_{name.upper()}_DATABASE_URL"] = addresses[name]
            env[f"SHOUHU_{name.upper()}_HTTP_PORT"] = str(port)
            env[f"SHOUHU_{name.upper()}_WORKER_METRICS_PORT"] = str(_free_port())
            env[f"SHOUHU_{name.upper()}_LAG_SAMPLE_INTERVAL_S"] = "2"
            self.urls[name] = f"http://127.0.0.1:{port}"
        self.env = env
        self._run = folder / "run"

    def command(self, *args: str, timeout: float = 900) -> str:
        done = subprocess.run([str(REPO / "scripts" / "stack"), *args], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"scripts/stack {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def worker_pid(self, service: str) -> int:
        return int((self._run / f"{service}-worker.child").read_text())

    def restarts(self) -> dict[str, int]:
        return {f"{name}-{role}": int(path.read_text()) for name in SERVICES for role in ("api", "worker")
                if (path := self._run / f"{name}-{role}.restarts").exists()}

    def consumers(self) -> dict[str, list[Any]]:
        """Each service's consumers as its worker builds them (names, handled events)."""
        saved = dict(os.environ)
        os.environ.update(self.env)
        try:
            found = {}
            for name in SERVICES:
                entry = importlib.import_module(f"services.{name}.entry").ENTRY
                found[name] = entry.build_consumers(entry.load_settings(), None)
            return found
        finally:
            os.environ.clear()
            os.environ.update(saved)


async def _converge(checker: Checker, ledger: Ledger, baseline: dict[str, int], since: float,
                    report: Report, fault: str) -> None:
    children, contacts = ledger.snapshot()  # what was acknowledged when the fault ended
    deadline = since + CONVERGE_WITHIN_S * 3  # keep looking past the limit, to report how far over
    findings = None
    while time.monotonic() < deadline:
        try:
            findings = await checker.check(children, contacts, baseline, final=False)
        except (OSError, RuntimeError, asyncio.TimeoutError) as exc:
            report.detail.append(f"{fault}: checking failed once ({type(exc).__name__})")
        else:
            if findings.converged:
                report.recovery_s[fault] = round(time.monotonic() - since, 1)
                print(f"chaos: {fault}: converged after {report.recovery_s[fault]} s "
                      f"({len(children) + len(contacts)} writes acknowledged so far)", flush=True)
                return
        await asyncio.sleep(0.5)
    report.recovery_s[fault] = None
    report.detail += [f"{fault}: not converged", *(findings.detail[:10] if findings else [])]
    print(f"chaos: {fault}: NOT converged within {CONVERGE_WITHIN_S * 3:.0f} s", flush=True)


async def run_faults(plan: Plan, stack: Stack, infra: PrivateInfra, report: Report) -> None:
    checker = Checker({name: stack.env[f"SHOUHU_{name.upper()}_DATABASE_URL"] for name in SERVICES}, stack.consumers())
    baseline = await checker.baseline()
    pairs = await paired_children(stack.env["SHOUHU_VISITS_DATABASE_URL"])
    if not pairs:
        raise RuntimeError("the demo county has no paired children for contacts")
    load = Load(stack.urls, pairs, report.ledger, rate=plan.rate)
    loading = asyncio.create_task(load.run())
    try:
        await asyncio.sleep(plan.settle_s)
        for service in plan.kill_workers:
            pid = stack.worker_pid(service)
            print(f"chaos: kill -9 {service} worker (pid {pid})", flush=True)
            killed_at = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            # The fault lasts until the stack has started the worker again (nobody else does);
            # what was acknowledged meanwhile must reach the consumers too.
            while stack.worker_pid(service) == pid and time.monotonic() - killed_at < CONVERGE_WITHIN_S:
                await asyncio.sleep(0.2)
            await _converge(checker, report.ledger, baseline, killed_at, report, f"kill -9 {service} worker")
        for component, down_s in (("kafka", plan.kafka_down_s), ("postgres", plan.postgres_down_s)):
            if down_s <= 0:
                continue
            print(f"chaos: {component} stopped for {down_s:.0f} s", flush=True)
            await asyncio.to_thread(infra.run, f"{component}-down")
            await asyncio.sleep(down_s)
            await asyncio.to_thread(infra.run, f"{component}-up")
            print(f"chaos: {component} back", flush=True)
            await _converge(checker, report.ledger, baseline, time.monotonic(), report, f"{component} stopped")
    finally:
        load.stop()
        await loading
    children, contacts = report.ledger.snapshot()  # the load has stopped: every write it began was acknowledged
    deadline = time.monotonic() + CONVERGE_WITHIN_S
    while True:
        final = await checker.check(children, contacts, baseline, final=True)
        if (final.converged and not final.pending_outbox) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    report.lost, report.duplicated = final.lost, final.duplicated
    report.detail += final.detail + ([f"{final.pending_outbox} outbox rows still pending"] if final.pending_outbox else [])
    report.restarts = stack.restarts()


def run(plan: Plan, folder: Path, *, kafka: str | None = None, topic_prefix: str = "") -> Report:
    """`kafka`: the caller's broker, for a plan that does not stop Kafka (else its own)."""
    report = Report()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # postgres (when started as root) must reach its cluster here
    infra = PrivateInfra(folder / "infra")
    stack: Stack | None = None
    own_kafka = plan.own_kafka or kafka is None
    try:
        print(f"chaos: starting a private PostgreSQL{' and Kafka' if own_kafka else ''}", flush=True)
        infra.run("up" if own_kafka else "postgres-up")
        addresses = infra.addresses()
        if not own_kafka:
            addresses["kafka"] = kafka  # type: ignore[assignment]
        stack = Stack(folder / "stack", addresses, plan.demo_children, topic_prefix)
        print("chaos: starting the stack (its own ports and folder)", flush=True)
        stack.command("up")
        asyncio.run(run_faults(plan, stack, infra, report))
    finally:
        if stack is not None:
            stack.command("down", timeout=180)
        infra.run("down" if own_kafka else "postgres-down")
        infra.remove()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="one worker killed, PostgreSQL stopped for 5 s")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep its logs (default: a temporary one)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="shouhu-chaos-", dir="/var/tmp"))
    report = run(SHORT if args.short else Plan(), folder)
    figures = report.figures()
    figures["took_s"] = round(time.monotonic() - started)
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    for line in report.detail:
        print(f"chaos: {line}")
    if report.passed and not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"chaos: logs in {folder / 'stack' / 'logs'}")
    print("chaos: PASSED" if report.passed else "chaos: FAILED")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())

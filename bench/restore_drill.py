"""`make drill` (scripts/restore-drill, python -m bench.restore_drill): the point-in-time restore
of one service (visits), rehearsed on this machine with PostgreSQL's own tools, step by step as
docs/operations.md section 5 ("Restoring one service to a point in time") does it on Kubernetes.

Everything runs on a PostgreSQL of its own (scripts/infra with SHOUHU_INFRA_DIR and a free
port), with WAL archiving turned on, and a stack of its own (scripts/stack with its own ports
and folder); Kafka is the caller's (with a topic prefix of its own) or, without one, its own.

1. archive_mode on, archive_command copying each WAL segment to archive generation g1;
   a base backup with pg_basebackup;
2. the stack with a small demo county; contacts recorded and children registered (visits
   consumes the registrations); every service caught up; T noted (the database's clock);
3. more of both after T, applied everywhere (reports holds the contacts recorded after T);
4. the runbook: visits' api and worker stopped; a new data directory from the base backup,
   restore_command reading g1, recovery_target_time = T, recovery_target_action = promote,
   archiving into g2 (never the generation it was restored from); visits pointed at it;
   visits' consumer groups rewound to T; visits started; `shouhu reconcile visits --orphans`;
5. the checks: the restored database holds what was written up to T and nothing after;
   visits' consumed facts (children, pairings, inbox) are again everything Kafka holds;
   the orphans listed are exactly visits' events published after T, and every downstream
   consumer holds each of them once (reports' contacts recorded after T are still there);
   nothing applied twice (reports: one row per contact); a contact recorded after the
   restore reaches reports.

It prints each step with its time and a verdict, and exits 1 on any divergence. PostgreSQL's
side (archiving, base backup, recovery) and the groups' rewind are in bench/restore_pitr.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.chaos import REPO, PrivateInfra, Stack
from bench.chaos_ledger import paired_children
from bench.restore_pitr import Postgres, rewind_groups, until
from services.demo import COUNTY, _child_body
from shared import clock as clocks
from shared.auth import issue_dev_token
from shared.contracts import VisitLogged
from shared.settings import AuthSettings

SERVICE = "visits"
DOWNSTREAM = ("pairing", "notify", "reports")  # visits' consumers (ARCHITECTURE.md: who consumes what)


@dataclass
class Report:
    steps: list[tuple[str, float]] = field(default_factory=list)  # what was done, seconds since the start
    checks: dict[str, bool] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    detail: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def step(self, text: str) -> None:
        at = round(time.monotonic() - self.started, 1)
        self.steps.append((text, at))
        print(f"drill [{at:6.1f} s] {text}", flush=True)

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks[name] = ok
        print(f"drill           {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        if not ok:
            self.detail.append(f"{name}: {detail}")

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(self.checks.values())


class Client:
    """Writes through the public APIs, as county staff."""

    def __init__(self, urls: dict[str, str]) -> None:
        token = issue_dev_token(AuthSettings(), subject="restore-drill", roles=["county_staff"], jurisdiction=COUNTY)
        self._headers = {"Authorization": f"Bearer {token}"}
        self._urls = urls
        self._rng = random.Random(20)
        self._n = 1000

    async def register(self, count: int) -> list[str]:
        ids = []
        async with httpx.AsyncClient(timeout=20, headers=self._headers) as client:
            for _ in range(count):
                self._n += 1
                answer = await client.post(f"{self._urls['registry']}/v1/children", json=_child_body(self._n, self._rng),
                                           headers={"Idempotency-Key": f"drill-{uuid.uuid4()}"})
                answer.raise_for_status()
                ids.append(answer.json()["id"])
        return ids

    async def contacts(self, pairs: list[tuple[str, str]], count: int) -> list[str]:
        ids = []
        now = clocks.from_env().now()  # the services' clock, not the machine's day
        async with httpx.AsyncClient(timeout=20, headers=self._headers) as client:
            for i in range(count):
                self._n += 1
                child_id, caregiver_id = pairs[self._n % len(pairs)]
                contact_id = str(uuid.uuid4())
                body = {"id": contact_id, "child_id": child_id, "caregiver_id": caregiver_id, "kind": "talk",
                        "occurred_at": (now - timedelta(hours=1, minutes=i)).isoformat()}
                answer = await client.post(f"{self._urls[SERVICE]}/v1/contacts", json=body)
                answer.raise_for_status()
                ids.append(contact_id)
        return ids


async def _fetch_set(url: str, sql: str, *args: Any) -> set[Any]:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return {row[0] for row in await conn.fetch(sql, *args)}
    finally:
        await conn.close()


async def _value(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


class Drill:
    def __init__(self, stack: Stack, pg: Postgres, report: Report, *, rewind: bool = True) -> None:
        self.stack, self.pg, self.report = stack, pg, report
        self.rewind = rewind
        self.urls = {name: stack.env[f"SHOUHU_{name.upper()}_DATABASE_URL"] for name in
                     ("registry", "pairing", "visits", "notify", "reports")}
        self.client = Client(stack.urls)
        self.consumers = stack.consumers()

    async def caught_up(self, visits_url: str | None = None) -> bool:
        """No outbox row pending anywhere, and visits holds every child the registry has."""
        urls = {**self.urls, SERVICE: visits_url or self.urls[SERVICE]}
        for url in urls.values():
            if await _value(url, "SELECT count(*) FROM outbox WHERE status = 'pending'"):
                return False
        registry = await _fetch_set(urls["registry"], "SELECT id FROM children")
        return registry <= await _fetch_set(urls[SERVICE], "SELECT id FROM children")

    async def in_reports(self, contacts: list[str]) -> bool:
        found = await _value(self.urls["reports"], "SELECT count(*) FROM contacts WHERE contact_id = ANY($1::uuid[])",
                             contacts)
        return bool(found == len(contacts))

    async def visits_facts(self, url: str) -> dict[str, set[Any]]:
        """What visits holds from events: its projections and its inbox, per consumer."""
        facts = {"children": await _fetch_set(url, "SELECT id FROM children"),
                 "pairings": await _fetch_set(url, "SELECT id FROM pairings")}
        for consumer in self.consumers[SERVICE]:
            facts[f"inbox {consumer.name}"] = await _fetch_set(
                url, "SELECT event_id FROM inbox WHERE consumer = $1", consumer.name)
        return facts

    def stop_service(self) -> None:
        run = Path(self.stack.env["SHOUHU_STACK_DIR"]) / "run"
        for role in ("api", "worker"):
            pidfile = run / f"{SERVICE}-{role}.pid"
            pid = int(pidfile.read_text())
            os.killpg(pid, signal.SIGTERM)  # the supervisor's group: it and its process stop
            deadline = time.monotonic() + 30
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
            pidfile.unlink()

    def start_service(self, database_url: str) -> None:
        """As scripts/stack's start_process, with the restored database: `scripts/stack down` stops it."""
        folder = Path(self.stack.env["SHOUHU_STACK_DIR"])
        env = {**self.stack.env, f"SHOUHU_{SERVICE.upper()}_DATABASE_URL": database_url,
               f"SHOUHU_{SERVICE.upper()}_WORKER_HEARTBEAT_FILE": str(folder / "run" / f"{SERVICE}-worker.alive")}
        for role in ("api", "worker"):
            with (folder / "logs" / f"{SERVICE}-{role}.log").open("a") as log:
                process = subprocess.Popen([str(REPO / "scripts" / "stack"), "supervise", SERVICE, role], cwd=REPO,
                                           env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           start_new_session=True)
            (folder / "run" / f"{SERVICE}-{role}.pid").write_text(str(process.pid))

    async def ready(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=3) as client:
                return (await client.get(f"{self.stack.urls[SERVICE]}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    def reconcile(self, database_url: str) -> dict[str, Any]:
        env = {**self.stack.env, f"SHOUHU_{SERVICE.upper()}_DATABASE_URL": database_url}
        done = subprocess.run([sys.executable, "-m", "shared.cli", "reconcile", SERVICE, "--orphans", "--hours", "1"],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"shouhu reconcile failed: {done.stderr[-2000:]}")
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        answer["exit_status"] = done.returncode
        return answer

    async def run(self) -> None:
        r = self.report
        pairs = await paired_children(self.urls[SERVICE])
        if not pairs:
            raise RuntimeError("the demo county has no paired children for contacts")

        r.step("before T: 6 contacts recorded in visits, 2 children registered (visits consumes them)")
        before_contacts = await self.client.contacts(pairs, 6)
        before_children = await self.client.register(2)
        await until(self.caught_up, "every outbox published, visits holds every child")
        await until(lambda: self.in_reports(before_contacts), "reports holds the contacts before T")
        target: datetime = await _value(self.urls["visits"], "SELECT now()")
        r.figures["T"] = target.isoformat()
        r.step(f"T = {target.isoformat()} (visits' database clock); everything before it applied everywhere")

        r.step("after T: 4 contacts recorded, 2 children registered; waiting until all of it is applied")
        after_contacts = await self.client.contacts(pairs, 4)
        after_children = await self.client.register(2)
        await until(self.caught_up, "every outbox published, visits holds every child")
        await until(lambda: self.in_reports(after_contacts), "reports holds the contacts after T")

        r.step("runbook 1: visits' api and worker stopped (nothing writes)")
        self.stop_service()
        before_restore = await self.visits_facts(self.urls[SERVICE])
        published_after_t = await _fetch_set(
            self.urls[SERVICE], "SELECT event_id FROM outbox WHERE status = 'published' AND created_at > $1", target)
        segment = await self.pg.archive_everything()
        r.step(f"WAL archived up to segment {segment} (g1); {len(published_after_t)} visits events published after T")

        r.step("runbook 2: new data directory from the base backup, recovery to T from g1, promoted, archiving to g2")
        await self.pg.restore(target)
        restored = self.pg.url("shouhu_visits", restored=True)
        kept = await _fetch_set(restored, "SELECT id::text FROM contacts WHERE id = ANY($1::uuid[])",
                                before_contacts + after_contacts)
        r.check("the restored database holds every contact up to T", set(before_contacts) <= kept,
                f"{len(set(before_contacts) & kept)}/{len(before_contacts)}")
        r.check("the restored database holds no contact after T", not set(after_contacts) & kept,
                f"{len(set(after_contacts) & kept)} of {len(after_contacts)} present")
        forgotten = set(after_children) - {str(i) for i in await _fetch_set(restored, "SELECT id FROM children")}
        r.check("the restored database has forgotten the children registered after T",
                forgotten == set(after_children), f"{len(forgotten)}/{len(after_children)} forgotten")

        if self.rewind:
            groups = {c.kafka_group: c.kafka_topics for c in self.consumers[SERVICE]}
            again = await rewind_groups(self.stack.env["SHOUHU_KAFKA_BOOTSTRAP_SERVERS"], groups, target)
            r.figures["read_again"] = again
            r.step(f"runbook 3: visits' consumer groups rewound to T: records to read again {again}")
        else:
            r.step("runbook 3 LEFT OUT (--skip-rewind): the checks below must fail")

        r.step("runbook 4: visits' api and worker started on the restored database")
        self.start_service(restored)
        await until(self.ready, "visits ready on the restored database")
        reconciled = await asyncio.to_thread(self.reconcile, restored)
        orphans = {uuid.UUID(i) for i in reconciled.get("on kafka, not in the outbox", [])}
        r.figures["reconcile"] = {k: v for k, v in reconciled.items() if k != "on kafka, not in the outbox"}
        r.figures["orphans"] = len(orphans)
        r.step(f"shouhu reconcile visits --orphans: {len(orphans)} orphans, exit status {reconciled['exit_status']}")
        r.check("reconcile --orphans says so in its exit status (1)", reconciled["exit_status"] == 1)
        r.check("the four contacts after T are among the orphans, at least", len(orphans) >= 4, f"{len(orphans)}")

        await self.check(restored, before_restore, published_after_t, orphans, before_contacts, after_contacts,
                         before_children + after_children)

    async def check(self, restored: str, before_restore: dict[str, set[Any]], published_after_t: set[Any],
                    orphans: set[Any], before_contacts: list[str], after_contacts: list[str],
                    children: list[str]) -> None:
        r = self.report
        r.check("the orphans listed are exactly visits' events published after T", orphans == published_after_t,
                f"{len(orphans)} listed, {len(published_after_t)} published after T")
        r.check("visits' events after T include the contacts' VisitLogged",
                await _value(self.urls[SERVICE], "SELECT count(*) FROM outbox WHERE event_type = $1 AND"
                             " payload->>'contact_id' = ANY($2::text[]) AND event_id = ANY($3::uuid[])",
                             VisitLogged.cloudevent_type(), after_contacts, list(orphans)) == len(after_contacts))

        async def consumed_again() -> bool:
            facts = await self.visits_facts(restored)
            return all(before_restore[k] <= facts[k] for k in before_restore)
        try:
            await until(consumed_again, "visits holds again every fact it had consumed")
            ok = True
        except TimeoutError:
            ok = False
        facts = await self.visits_facts(restored)
        lost = {k: len(before_restore[k] - facts[k]) for k in before_restore}
        r.check("visits' consumed facts (children, pairings, inbox) are again all Kafka holds", ok, f"missing {lost}")
        registry = await _fetch_set(self.urls["registry"], "SELECT id FROM children")
        r.check("visits' children = the registry's children", facts["children"] == registry,
                f"{len(facts['children'])} vs {len(registry)}")
        r.check("the children registered after T are back in visits",
                {str(i) for i in facts["children"]} >= set(children))

        for service in DOWNSTREAM:
            for consumer in self.consumers[service]:
                if not {kind.topic for kind in consumer.handled_events} & {VisitLogged.topic}:
                    continue
                held = await _fetch_set(self.urls[service],
                                        "SELECT event_id FROM inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
                                        consumer.name, list(orphans))
                handled = await _fetch_set(self.urls[SERVICE], "SELECT event_id FROM outbox WHERE"
                                           " event_id = ANY($1::uuid[]) AND event_type = ANY($2::text[])",
                                           list(published_after_t),
                                           [kind.cloudevent_type() for kind in consumer.handled_events])
                r.check(f"{consumer.name} holds each orphan it handles once", held >= handled,
                        f"{len(held & handled)}/{len(handled)}")
        r.check("reports still holds the contacts recorded after T (facts of orphans)",
                await self.in_reports(after_contacts))

        r.step("after the restore: one more contact recorded in visits")
        pairs = await paired_children(restored)
        fresh = await self.client.contacts(pairs, 1)
        try:
            await until(lambda: self.in_reports(fresh), "reports holds the contact recorded after the restore")
            await until(lambda: self.caught_up(restored), "every outbox published, visits holds every child")
            ok = True
        except TimeoutError:
            ok = False
        r.check("after the restore a new contact reaches reports, no outbox row is pending and visits"
                " holds every child", ok)
        every = before_contacts + after_contacts + fresh
        rows = await _value(self.urls["reports"], "SELECT count(*) FROM contacts WHERE contact_id = ANY($1::uuid[])",
                            every)
        r.check("nothing applied twice: reports holds one row per contact", rows == len(every),
                f"{rows} rows for {len(every)} contacts")
        pending_or_twice = await _value(restored, "SELECT count(*) - count(DISTINCT event_id) FROM outbox")
        r.check("visits' outbox holds each event once", pending_or_twice == 0)
        r.figures["contacts"] = {"before_T": len(before_contacts), "after_T": len(after_contacts), "after_restore": 1}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def run(folder: Path, *, kafka: str | None = None, topic_prefix: str = "", demo_children: int = 10,
        rewind: bool = True) -> Report:
    """`kafka`: the caller's broker (else one of its own, started and stopped here). `rewind=False`
    leaves out the runbook's step 3, to see the checks fail without it."""
    report = Report()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    infra = PrivateInfra(folder / "infra")
    infra.env["SHOUHU_INFRA_KEYCLOAK"] = "off"  # no sign-in here: development tokens
    # What the server (user postgres) writes lives where that user may write, whatever `folder` is.
    pg = Postgres(infra, Path(tempfile.mkdtemp(prefix="shouhu-drill-pg-", dir="/var/tmp")))
    stack: Stack | None = None
    try:
        report.step(f"a PostgreSQL of its own{'' if kafka else ' and a Kafka of its own'} (scripts/infra)")
        infra.run("postgres-up" if kafka else "up")
        report.step(f"WAL archiving on (archive_mode, archive_command into {pg.archive_g1}); restart")
        asyncio.run(pg.enable_archiving())
        report.step(f"base backup (pg_basebackup) into {pg.base}")
        asyncio.run(pg.base_backup())
        addresses = infra.addresses()
        if kafka:
            addresses["kafka"] = kafka
        stack = Stack(folder / "stack", addresses, demo_children, topic_prefix)
        report.step(f"the stack with a demo county of {demo_children} children (scripts/stack, its own ports)")
        stack.command("up")
        asyncio.run(Drill(stack, pg, report, rewind=rewind).run())
    except Exception as failure:  # a step that could not be done is a failed drill, said as such
        report.check("every step done", False, f"{type(failure).__name__}: {failure}")
    finally:
        if stack is not None:
            stack.command("down", timeout=180)
        pg.stop_restored()
        infra.run("postgres-down" if kafka else "down")
        infra.remove()
        shutil.rmtree(pg.folder, ignore_errors=True)
    report.figures["took_s"] = round(time.monotonic() - report.started)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/restore-drill", description=__doc__.splitlines()[0])
    parser.add_argument("--kafka", help="a running Kafka to use (default: one of its own)")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep its logs (default: a temporary one)")
    parser.add_argument("--skip-rewind", action="store_true",
                        help="leave out rewinding the consumer groups (runbook step 3): the drill must then fail")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="shouhu-drill-", dir="/var/tmp"))
    prefix = f"drill{uuid.uuid4().hex[:8]}." if args.kafka else ""
    report = run(folder, kafka=args.kafka, topic_prefix=prefix, rewind=not args.skip_rewind)
    print(json.dumps(report.figures, ensure_ascii=False, indent=2, default=str))
    for line in report.detail:
        print(f"drill: {line}")
    if report.passed and not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"drill: logs in {folder / 'stack' / 'logs'}")
    print(f"drill: {'PASSED' if report.passed else 'FAILED'} ({sum(report.checks.values())}/{len(report.checks)} checks,"
          f" {report.figures['took_s']} s)")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())

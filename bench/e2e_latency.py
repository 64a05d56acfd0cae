"""End-to-end latency: registry API commit → pairing's projection row, at a steady rate.

Real processes, as tests/support/stack.py starts them: `python -m services.registry
api|worker` and `python -m services.pairing api|worker`, each with its own throwaway
database, one fresh Kafka topic prefix. After /readyz answers and a warm-up (children
posted until one arrives in pairing, so the consumer group has its partitions), children
are POSTed to /v1/children on an open-loop schedule: request i is sent at t0 + i/rate
whatever happened to earlier ones (no coordinated omission).

Latency of child c (all timestamps from the one clock of this machine):

  primary     pairing.children.updated_at − registry.children.created_at
              Both are PostgreSQL now(), i.e. the START of the writing transaction:
              created_at is a little before the registry commits (the insert, the
              outbox row and a read-back are still to come), updated_at a little before
              pairing commits. The commit durations (~1 ms each) are left out.
  from send   pairing updated_at − client wall time when the POST was sent
  from 201    pairing updated_at − client wall time when the 201 was received
              (can be negative: the event may be applied before the response arrives)

A breakdown through the registry's outbox row is printed too: created_at →
outbox.published_at (the relay's claiming transaction began: NOTIFY + wake-up) and
published_at → pairing updated_at (Kafka send + ack + relay commit + fetch + consumer).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx

from bench.common import Goal, delete_topics, infrastructure, quiet_logging, rule, summary_ms, unique_prefix
from shared.contracts import ChildRegistered
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, staff
from tests.support.databases import drop_database
from tests.support.processes import Service, wait_ready
from tests.support.stack import start_service

GOAL_P99_MS = 150.0
ANSWER_GRACE_S = 20.0  # after the last scheduled POST, unanswered requests are abandoned
PROJECTION_GRACE_S = 30.0
# The walking-skeleton test's request body when it can be imported (it follows the API as
# that evolves); otherwise this copy of it.
CHILD = {
    "name": "王小明",
    "gender": "male",
    "birth_date": "2016-03-09",
    "jurisdiction": {"county_code": COUNTY, "township_code": TOWNSHIP, "village_code": VILLAGE},
    "school_id": "school-1",
    "categories": ["left_behind"],
}
try:
    from tests.integration.test_skeleton_flow import CHILD  # noqa: F811
except Exception:  # pytest missing, or the test moved: keep the copy
    pass
# Production defaults where the test harness (tests/support/processes.py) shortens them.
PRODUCTION_LIKE = {"RELAY_POLL_INTERVAL_S": "1.0", "CONSUMER_PARKED_RETRY_INTERVAL_S": "5.0",
                   "CONSUMER_RETRY_BASE_S": "0.05"}


_BODY: bytes | None = None


def _body() -> bytes:
    global _BODY
    if _BODY is None:
        _BODY = json.dumps(CHILD).encode()
    return _BODY


@dataclass
class Sent:
    index: int
    lateness_s: float  # how late the generator sent it versus the schedule
    sent_wall: float  # the scheduled send time (wall clock)
    received_wall: float = 0.0
    status: int = 0
    child_id: UUID | None = None
    error: str = ""


async def _fetch(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def _projected(pairing: Service, ids: list[UUID]) -> int:
    rows = await _fetch(pairing.database_url, "SELECT count(*) AS n FROM children WHERE id = ANY($1::uuid[])", ids)
    return rows[0]["n"]


async def _wait_projected(pairing: Service, ids: list[UUID], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        seen = await _projected(pairing, ids)
        if seen >= len(ids):
            break
        await asyncio.sleep(0.2)
    return seen


async def _post(client: httpx.AsyncClient, url: str, headers: dict[str, str], record: Sent) -> None:
    try:
        response = await client.post(url, content=_body(), headers=headers)
        record.received_wall = time.time()
        record.status = response.status_code
        if response.status_code == 201:
            record.child_id = UUID(response.json()["id"])
        else:
            record.error = response.text[:200]
    except httpx.HTTPError as exc:
        record.received_wall = time.time()
        record.error = type(exc).__name__


def _check_alive(*services: Service) -> None:
    for service in services:
        for process in (service.api, service.worker):
            if process.process and process.process.poll() is not None:
                raise RuntimeError(f"{service.name} {process.role} exited with {process.process.returncode}:\n"
                                   f"{process.log_text()[-1500:]}")


async def _warm_up(client: httpx.AsyncClient, registry: Service, pairing: Service, headers: dict[str, str]) -> None:
    """Until a child reaches pairing: topics exist, the consumer has its partitions."""
    deadline = time.monotonic() + 60
    ids: list[UUID] = []
    while time.monotonic() < deadline:
        _check_alive(registry, pairing)
        record = Sent(-1, 0.0, time.time())
        await _post(client, f"{registry.base_url}/v1/children", headers, record)
        if record.child_id is None:
            raise RuntimeError(f"warm-up POST failed: {record.status} {record.error}")
        ids.append(record.child_id)
        if await _wait_projected(pairing, ids[-1:], timeout=2.0):
            break
    else:
        raise RuntimeError("warm-up: no child reached pairing within 60 s")
    # A few more at a gentle pace, so connections and code paths are warm.
    for _ in range(20):
        record = Sent(-1, 0.0, time.time())
        await _post(client, f"{registry.base_url}/v1/children", headers, record)
        await asyncio.sleep(0.02)


async def _load(client: httpx.AsyncClient, registry: Service, headers: dict[str, str], rate: float,
                duration: float, connections: int) -> tuple[list[Sent], float]:
    """Open loop: request i is due at t0 + i/rate and is queued then, whatever came before.

    `connections` workers take due requests from a FIFO queue and POST them; a request that
    waits for a free worker has that wait in its latency (measured from when it was due).
    (Queueing inside httpx's own pool instead costs O(waiting) per completed request, which
    starves this event loop once the API falls behind.)
    """
    url = f"{registry.base_url}/v1/children"
    total = int(rate * duration)
    records: list[Sent] = []
    due: asyncio.Queue[Sent | None] = asyncio.Queue()

    async def worker() -> None:
        while (record := await due.get()) is not None:
            await _post(client, url, headers, record)

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    t0 = time.perf_counter() + 0.05
    wall_t0 = time.time() + (t0 - time.perf_counter())
    for i in range(total):
        target = t0 + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        # "Sent" is the scheduled moment: a late generator adds to the latency, it does not hide it.
        record = Sent(i, time.perf_counter() - target, wall_t0 + i / rate)
        records.append(record)
        due.put_nowait(record)
    send_window = time.perf_counter() - t0
    for _ in workers:
        due.put_nowait(None)
    _, unfinished = await asyncio.wait(workers, timeout=ANSWER_GRACE_S)
    for task in unfinished:  # what is left is counted as errors below (no status, no child id)
        task.cancel()
    await asyncio.gather(*unfinished, return_exceptions=True)
    for record in records:
        if not record.status and not record.error:
            record.error = f"no answer {ANSWER_GRACE_S:.0f} s after the schedule ended"
    return records, send_window


def _write_csv(path: str, records: list[Sent], committed: dict, applied: dict) -> None:
    """One line per request, epoch seconds: for plotting latency over the run."""
    with open(path, "w", encoding="utf-8") as out:
        out.write("index,status,sent,received,registry_created,relay_claimed,pairing_applied,lateness_s\n")
        for r in records:
            created, published = committed.get(r.child_id, (None, None))
            cells = [r.index, r.status, r.sent_wall, r.received_wall, created, published,
                     applied.get(r.child_id), r.lateness_s]
            out.write(",".join("" if c is None else (f"{c:.6f}" if isinstance(c, float) else str(c))
                               for c in cells) + "\n")
    print(f"  per-request timings written to {path}")


def _print_summary(label: str, values_s: list[float]) -> dict[str, float]:
    s = summary_ms(values_s)
    print(f"  {label:<38} p50 {s['p50']:7.1f}  p95 {s['p95']:7.1f}  p99 {s['p99']:7.1f}  "
          f"max {s['max']:7.1f}  ms  (n={s['n']})")
    return s


async def run(rate: float = 200.0, duration: float = 20.0, keep_logs: bool = False,
              csv_path: str | None = None, connections: int = 8) -> list[Goal]:
    infra = infrastructure()
    rule(f"end-to-end latency: registry → pairing at {rate:g}/s for {duration:g} s")
    prefix = unique_prefix("e2e")
    log_dir = Path(tempfile.mkdtemp(prefix="shouhu-bench-e2e-"))
    services: list[Service] = []
    failed = True
    try:
        for name in ("registry", "pairing"):
            extra = {f"SHOUHU_{name.upper()}_{key}": value for key, value in PRODUCTION_LIKE.items()}
            services.append(await start_service(infra, name, topic_prefix=prefix, log_dir=log_dir, extra_env=extra))
        registry, pairing = services
        for service in services:
            await wait_ready(service, timeout=60)
        headers = {**staff(), "Content-Type": "application/json"}
        # At most `connections` requests in flight (see _load). On 2 cores the API's
        # throughput peaks near 8 concurrent requests (≈190/s closed loop), ≈100/s at 32.
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:
            await _warm_up(client, registry, pairing, headers)
            records, send_window = await _load(client, registry, headers, rate, duration, connections)
        _check_alive(registry, pairing)
        created = [r for r in records if r.child_id is not None]
        ids = [r.child_id for r in created]
        seen = await _wait_projected(pairing, ids, timeout=PROJECTION_GRACE_S)
        registry_rows = await _fetch(
            registry.database_url,
            """SELECT c.id, extract(epoch FROM c.created_at)::float8 AS created,
                      extract(epoch FROM o.published_at)::float8 AS published
                 FROM children c
                 LEFT JOIN outbox o ON o.message_key = c.id::text AND o.event_type = $2
                WHERE c.id = ANY($1::uuid[])""", ids, ChildRegistered.cloudevent_type())
        pairing_rows = await _fetch(
            pairing.database_url,
            "SELECT id, extract(epoch FROM updated_at)::float8 AS applied FROM children WHERE id = ANY($1::uuid[])",
            ids)
        failed = False
    finally:
        for service in services:
            service.api.stop()
            service.worker.stop()
        if failed:
            for service in services:
                for process in (service.api, service.worker):
                    print(f"--- {service.name} {process.role} log (tail)\n{process.log_text()[-2000:]}",
                          file=sys.stderr)
        for service in services:
            await drop_database(infra, service.database_url)
        await delete_topics(infra.kafka_bootstrap, [prefix])
        if keep_logs or failed:
            print(f"  process logs kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)

    applied = {row["id"]: row["applied"] for row in pairing_rows}
    committed = {row["id"]: (row["created"], row["published"]) for row in registry_rows}
    primary, from_send, from_201, response, to_relay, relay_to_effect = [], [], [], [], [], []
    for record in created:
        if record.child_id not in applied or record.child_id not in committed:
            primary.append(float("inf"))  # created but never applied: as late as it gets
            continue
        effect = applied[record.child_id]
        created_at, published_at = committed[record.child_id]
        primary.append(effect - created_at)
        from_send.append(effect - record.sent_wall)
        from_201.append(effect - record.received_wall)
        response.append(record.received_wall - record.sent_wall)
        if published_at is not None:
            to_relay.append(published_at - created_at)
            relay_to_effect.append(effect - published_at)
    if csv_path:
        _write_csv(csv_path, records, committed, applied)
    errors = [r for r in records if r.child_id is None]
    offered = (len(records) - 1) / send_window if len(records) > 1 and send_window else 0.0
    # Achieved: 201s per second from the first scheduled send to the last 201 received, so
    # answers that trail in after the schedule (an API falling behind) lower it.
    answered_by = max((r.received_wall for r in created), default=0.0)
    span = answered_by - records[0].sent_wall if created else 0.0
    ok_rate = len(created) / max(span, send_window) if created else 0.0
    late = max((r.lateness_s for r in records), default=0.0)
    print(f"  offered {len(records):,} POSTs in {send_window:.1f} s = {offered:.1f}/s; achieved {ok_rate:.1f}/s "
          f"({len(created):,} × 201 in {max(span, send_window):.1f} s); generator max lateness "
          f"{late * 1000:.0f} ms; errors {len(errors)}")
    if errors:
        kinds = Counter(e.error.splitlines()[0][:80] if e.error else f"HTTP {e.status}" for e in errors)
        print("    " + "; ".join(f"{count} × {kind}" for kind, count in kinds.most_common(4)))
    print(f"  projected in pairing: {seen:,}/{len(created):,}")
    if not created:
        goal = Goal("e2e p99 latency", float("inf"), "<=", GOAL_P99_MS, " ms")
        print("  " + goal.line(), flush=True)
        return [goal]
    print("  latency (ms)")
    main = _print_summary("registry commit → pairing effect", primary)
    if from_send:
        _print_summary("POST sent → pairing effect", from_send)
        _print_summary("201 received → pairing effect", from_201)
        _print_summary("POST round trip (sent → 201)", response)
    if to_relay:
        _print_summary("  leg: registry tx → relay claims row", to_relay)
        _print_summary("  leg: relay claims → pairing effect", relay_to_effect)
    goal = Goal(f"e2e p99 latency at {ok_rate:.0f}/s", main["p99"], "<=", GOAL_P99_MS, " ms")
    print("  " + goal.line(), flush=True)
    return [goal]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=200.0, help="children POSTed per second (default 200)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of steady load (default 20)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the service processes' log files")
    parser.add_argument("--csv", default=None, metavar="PATH", help="write per-request timings to PATH")
    parser.add_argument("--connections", type=int, default=8,
                        help="most requests in flight; due ones beyond wait in a queue (default 8)")


def main(args: argparse.Namespace) -> list[Goal]:
    quiet_logging()
    return asyncio.run(run(args.rate, args.duration, args.keep_logs, args.csv, args.connections))


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m bench.e2e_latency")
    add_arguments(cli)
    main(cli.parse_args())

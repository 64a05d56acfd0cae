"""Sustained contact logging through the visits API (requests/s and p99), as a ratio of a
bare Starlette endpoint doing the same transaction, measured in the same run (goal ≥ 0.6).

Both servers run as their own uvicorn process on loopback against the same throwaway
database (migrated like production; `--children` children, each paired with its own
caregiver). The load generator keeps `--connections` keep-alive HTTP/1.1 connections busy
for `--seconds` per phase (after a short warm-up), each request a new home visit by a
caregiver for the child paired with them, with a fresh contact id.

- "api": `python -m services.visits api`: bearer JWT verified, body validated
  (extra="forbid"), child and pairing checked, contact INSERT + VisitLogged outbox row,
  duties fulfilled, the stored row read back, all in one transaction.
- "bare": a Starlette route with an asyncpg pool of the same size: json.loads, the child's
  jurisdiction read, the same contacts INSERT and the same outbox row (shared.outbox.add
  of the same VisitLogged), one transaction, a small JSON answer. No auth, no validation.

Phases alternate bare, api (`--rounds` times); the best of each side is compared, so a
busy moment on this shared machine does not decide the ratio alone. The visits API caches
verified tokens (services/visits/auth_cache.py); the load uses 500 caregivers' tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from bench.common import Goal, infrastructure, percentile, rule
from shared.auth import issue_dev_token
from shared.migrations import migrate
from shared.settings import AuthSettings
from tests.support.databases import create_database, drop_database
from tests.support.processes import free_port

REPO = Path(__file__).resolve().parents[1]
MIGRATIONS = REPO / "services" / "visits" / "migrations"
GOAL_RATIO = 0.6
COUNTY, TOWNSHIP, VILLAGE = "330102000000", "330102001000", "330102001001"


# -- the bare baseline ----------------------------------------------------------------------

def bare_app():  # type: ignore[no-untyped-def]
    """The baseline: the same transaction with nothing around it."""
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from shared import outbox
    from shared.contracts import Jurisdiction, VisitLogged
    from shared.db import create_pool
    from shared.settings import ServiceSettings

    async def log_contact(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        contact_id, child_id = uuid.UUID(body["id"]), uuid.UUID(body["child_id"])
        occurred_at = datetime.fromisoformat(body["occurred_at"])
        async with request.app.state.pool.acquire() as conn, conn.transaction():
            child = await conn.fetchrow("SELECT county_code, township_code, village_code, school_id FROM children"
                                        " WHERE id = $1", child_id)
            await conn.execute(
                """INSERT INTO contacts (id, child_id, caregiver_id, kind, occurred_at, county_code, township_code,
                                         village_code, school_id, logged_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)""",
                contact_id, child_id, uuid.UUID(body["caregiver_id"]), body["kind"], occurred_at,
                child["county_code"], child["township_code"], child["village_code"], child["school_id"], "bare")
            await outbox.add(conn, VisitLogged(
                child_id=child_id, contact_id=contact_id, caregiver_id=uuid.UUID(body["caregiver_id"]),
                kind=body["kind"], occurred_at=occurred_at, jurisdiction=Jurisdiction(
                    county_code=child["county_code"], township_code=child["township_code"],
                    village_code=child["village_code"])))
        return JSONResponse({"id": str(contact_id)}, status_code=201)

    @asynccontextmanager
    async def lifespan(app):  # type: ignore[no-untyped-def]
        # The service's own pool factory and default size, so the pools are alike.
        app.state.pool = await create_pool(ServiceSettings(database_url=os.environ["BENCH_DATABASE_URL"]))
        yield
        await app.state.pool.close()

    return Starlette(routes=[Route("/v1/contacts", log_contact, methods=["POST"])], lifespan=lifespan)


def serve_bare(port: int) -> None:
    import uvicorn

    uvicorn.Server(uvicorn.Config(bare_app(), host="127.0.0.1", port=port, log_config=None,
                                  access_log=False)).run()


# -- load -----------------------------------------------------------------------------------

class Phase:
    def __init__(self, label: str) -> None:
        self.label = label
        self.latencies: list[float] = []
        self.errors = 0
        self.seconds = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        ms = sorted(v * 1000 for v in self.latencies) or [0.0]
        return (f"  {self.label:<5} {len(self.latencies):>6,} requests in {self.seconds:5.1f} s = {self.rate:7,.0f}/s"
                f"  p50 {percentile(ms, 50):6.1f} ms  p99 {percentile(ms, 99):6.1f} ms  errors {self.errors}")


async def _connection(port: int, pairs: list[tuple[str, str, str]], deadline: float, phase: Phase | None) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            child_id, caregiver_id, token = random.choice(pairs)
            body = json.dumps({"id": str(uuid.uuid4()), "child_id": child_id, "caregiver_id": caregiver_id,
                               "kind": "home_visit", "occurred_at": datetime.now(timezone.utc).isoformat()}).encode()
            request = (f"POST /v1/contacts HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                       f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
            started = time.perf_counter()
            writer.write(request)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            if phase is not None:
                if status == 201:
                    phase.latencies.append(time.perf_counter() - started)
                else:
                    phase.errors += 1
    finally:
        writer.close()


async def _load(port: int, pairs: list, connections: int, seconds: float, label: str) -> Phase:
    await asyncio.gather(*(_connection(port, pairs, time.perf_counter() + 1.5, None) for _ in range(connections)))
    phase = Phase(label)
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, pairs, started + seconds, phase) for _ in range(connections)))
    phase.seconds = time.perf_counter() - started
    print(phase.line(), flush=True)
    return phase


async def _wait_listening(port: int, process: subprocess.Popen) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"server on {port} exited")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise SystemExit(f"server on {port} did not start")


async def _seed(url: str, children: int) -> list[tuple[str, str, str]]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        pairs = [(uuid.uuid4(), uuid.uuid4()) for _ in range(children)]
        await conn.executemany(
            "INSERT INTO children (id, county_code, township_code, village_code, school_id, status, record_version)"
            " VALUES ($1, $2, $3, $4, 'school-1', 'active', 1)", [(c, COUNTY, TOWNSHIP, VILLAGE) for c, _ in pairs])
        await conn.executemany(
            "INSERT INTO pairings (id, child_id, caregiver_id, role, started_on) VALUES ($1, $2, $3, 'lead', $4)",
            [(uuid.uuid4(), c, g, datetime(2026, 1, 1).date()) for c, g in pairs])
    finally:
        await conn.close()
    auth = AuthSettings()
    return [(str(c), str(g), issue_dev_token(auth, subject=f"cg-{g}", roles=["caregiver"], jurisdiction=TOWNSHIP,
                                            caregiver_id=str(g), ttl_seconds=3600)) for c, g in pairs]


async def run(children: int, connections: int, seconds: float, rounds: int) -> list[Goal]:
    infra = infrastructure()
    rule(f"visits contact logging: API vs bare Starlette, {connections} connections, {seconds:g} s per phase")
    url = await create_database(infra, "benchvisitslog")
    processes: list[subprocess.Popen] = []
    try:
        await migrate(url, "visits", MIGRATIONS)
        pairs = await _seed(url, children)
        api_port, bare_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")} | {"SHOUHU_ENV": "development"}
        api_env = {**env, "SHOUHU_VISITS_DATABASE_URL": url, "SHOUHU_VISITS_HTTP_PORT": str(api_port),
                   "SHOUHU_VISITS_LOG_LEVEL": "WARNING"}
        processes.append(subprocess.Popen([sys.executable, "-m", "services.visits", "api"], cwd=REPO, env=api_env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        processes.append(subprocess.Popen([sys.executable, "-m", "bench.visits_logging", "--serve-bare",
                                           str(bare_port)], cwd=REPO, env={**env, "BENCH_DATABASE_URL": url},
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        await _wait_listening(api_port, processes[0])
        await _wait_listening(bare_port, processes[1])
        phases: dict[str, list[Phase]] = {"bare": [], "api": []}
        for label, port in [("bare", bare_port), ("api", api_port)] * rounds:
            phases[label].append(await _load(port, pairs, connections, seconds, label))
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        await drop_database(infra, url)
    api = max(phases["api"], key=lambda p: p.rate)
    bare = max(phases["bare"], key=lambda p: p.rate)
    ratio = api.rate / bare.rate if bare.rate else 0.0
    api_p99 = percentile(sorted(api.latencies), 99) * 1000
    bare_p99 = percentile(sorted(bare.latencies), 99) * 1000
    print(f"  best of {rounds}: api {api.rate:,.0f}/s (p99 {api_p99:.1f} ms), bare {bare.rate:,.0f}/s (p99 {bare_p99:.1f} ms)")
    goal = Goal("contact logging api/bare throughput ratio", ratio, ">=", GOAL_RATIO)
    print("  " + goal.line(), flush=True)
    return [goal]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--children", type=int, default=500, help="paired children to log for (default 500)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--seconds", type=float, default=7.0, help="seconds per phase (default 7)")
    parser.add_argument("--rounds", type=int, default=3, help="bare+api rounds, best of each kept (default 3)")


def main(args: argparse.Namespace) -> list[Goal]:
    try:
        from bench.common import quiet_logging
        quiet_logging()
    except ImportError:
        pass
    return asyncio.run(run(args.children, args.connections, args.seconds, args.rounds))


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m bench.visits_logging")
    add_arguments(cli)
    cli.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    parsed = cli.parse_args()
    if parsed.serve_bare is not None:
        serve_bare(parsed.serve_bare)
    else:
        main(parsed)

"""A worker whose database connections are killed again and again (pg_terminate_backend of
all its backends, several times a second for 15 s) keeps running: its relay, consumers and
loops wait with capped backoff, log once per change of state, and afterwards everything
consumed during the outage is applied exactly once and the relay publishes again, with no
restart. The shared PostgreSQL server itself keeps running for everyone else."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import date
from pathlib import Path

import asyncpg
import structlog

from shared import outbox
from shared.consumer import Consumer
from shared.contracts import ChildRegistered, Jurisdiction, PairingCreated
from shared.db import create_pool
from shared.settings import ServiceSettings
from tests.support.databases import create_migrated_database, drop_database
from tests.support.plumbing import produce
from tests.support.processes import ServiceProcess, free_port, service_env
from tests.support.waiting import wait_for

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "pairing" / "migrations"
PLACE = Jurisdiction(county_code="330102000000", township_code="330102001000", village_code="330102001001")
KILL_FOR_S = 15.0


def _children(n: int) -> list[ChildRegistered]:
    return [ChildRegistered(child_id=uuid.uuid4(), jurisdiction=PLACE, record_version=1) for _ in range(n)]


async def test_a_worker_whose_connections_are_killed_for_15_s_converges_without_a_restart(
        infra, topic_prefix, tmp_path) -> None:
    url = await create_migrated_database(infra, "pairing", MIGRATIONS)
    env = service_env("pairing", database_url=url, port=free_port(), kafka=infra.kafka_bootstrap,
                      topic_prefix=topic_prefix, group=f"{topic_prefix}pairing")
    worker = ServiceProcess("pairing", "worker", env, tmp_path / "pairing-worker.log")
    admin = await asyncpg.connect(url)
    for pg_type in ("json", "jsonb"):  # as the services' pools do (outbox.add writes jsonb)
        await admin.set_type_codec(pg_type, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    worker.start()
    try:
        async def projected() -> int:
            return await admin.fetchval("SELECT count(*) FROM children")

        sent = _children(1)
        await produce(infra.kafka_bootstrap, topic_prefix, sent)
        await wait_for(lambda: _at_least(projected, 1), timeout=60, what="the worker consuming")
        pid = worker.process.pid  # type: ignore[union-attr]

        kills = 0
        started = time.monotonic()
        while time.monotonic() - started < KILL_FOR_S:
            kills += await admin.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()")
            batch = _children(5)
            await produce(infra.kafka_bootstrap, topic_prefix, batch, times=2)  # redelivered, too
            sent += batch
            await asyncio.sleep(0.25)
        assert kills > 20, "the worker's connections were killed again and again"
        recovering_from = time.monotonic()

        await wait_for(lambda: _at_least(projected, len(sent)), timeout=90, what="every child projected")
        converged_s = time.monotonic() - recovering_from
        assert await admin.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'pairing.registry'") == len(sent)

        # The relay is back too: an event written now is published.
        async with admin.transaction():
            await outbox.add(admin, PairingCreated(child_id=sent[0].child_id, pairing_id=uuid.uuid4(),
                                                   caregiver_id=uuid.uuid4(), jurisdiction=PLACE,
                                                   started_on=date(2026, 1, 5)))

        async def published() -> bool:
            return not await admin.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'")

        await wait_for(published, timeout=60, what="the relay publishing again")
        assert worker.process.poll() is None and worker.process.pid == pid, "never restarted"  # type: ignore
        log = worker.log_text()
        state_lines = sum(1 for line in log.splitlines() if "unavailable" in line or "available_again" in line)
        print(f"kills={kills} events={len(sent)} converged_in_s={converged_s:.1f} state_log_lines={state_lines}")
        assert state_lines < kills, "logged per change of state, not per attempt"
        assert "Traceback" not in log or "worker.stopping" not in log
    finally:
        worker.stop()
        await admin.close()
        await drop_database(infra, url)


async def _at_least(count, n: int) -> bool:  # type: ignore[no-untyped-def]
    return await count() >= n


async def test_a_consumer_that_cannot_join_its_group_waits_and_says_so_once(infra) -> None:
    """Kafka unreachable (a slow first group join on a fresh broker looks the same): the
    consumer's start times out again and again; it backs off and keeps trying instead of
    ending the worker, and logs the outage once."""
    url = await create_migrated_database(infra, "pairing", MIGRATIONS)
    closed_port = free_port()  # nothing listens there
    settings = ServiceSettings(database_url=url, kafka_bootstrap_servers=f"127.0.0.1:{closed_port}",
                               kafka_request_timeout_ms=1000)
    pool = await create_pool(settings)
    consumer = Consumer(settings, pool, name="waiting", topics=("shouhu.registry.events.v1",), handlers={})
    try:
        with structlog.testing.capture_logs() as logs:
            running = asyncio.create_task(consumer.run())
            done, _ = await asyncio.wait({running}, timeout=8)  # several attempts' worth
            assert not done, f"the consumer ended: {running.exception()!r}"
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        outages = [entry for entry in logs if entry["event"].startswith("consumer.kafka.")]
        assert [entry["event"] for entry in outages][:1] == ["consumer.kafka.unavailable"]
        assert len(outages) <= 2, outages  # the first failure, perhaps a change of cause; not one per attempt
    finally:
        await pool.close()
        await drop_database(infra, url)

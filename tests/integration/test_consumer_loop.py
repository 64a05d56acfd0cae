"""The consumer loop on real Kafka and PostgreSQL: exactly-once effects, dead letters,
events that overtake their dependency, and a kill -9 between the two commits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from typing import AsyncIterator

import pytest_asyncio

from shared.consumer import Consumer
from shared.contracts.events import REGISTRY_TOPIC
from shared.db import create_pool
from shared.topics import ensure_topics
from tests.support.plumbing import (
    CountingHandlers, child_registered, child_updated, committed_total, create_plumbing_database, fetch,
    plumbing_settings, produce,
)
from tests.support.processes import REPO
from tests.support.waiting import wait_for


@pytest_asyncio.fixture(loop_scope="session")
async def running_consumer(infra, topic_prefix) -> AsyncIterator[tuple]:
    url = await create_plumbing_database(infra)
    settings = plumbing_settings(infra, url, topic_prefix)
    await ensure_topics(settings)
    pool = await create_pool(settings)
    handlers = CountingHandlers()
    consumer = Consumer(settings, pool, name="counting", topics=(REGISTRY_TOPIC,), handlers=handlers.handler_map())
    task = asyncio.create_task(consumer.run())
    try:
        yield url, handlers, consumer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pool.close()


async def test_every_event_delivered_twice_has_one_effect(infra, topic_prefix, running_consumer) -> None:
    url, _handlers, _consumer = running_consumer
    events = [child_registered(uuid.uuid4()) for _ in range(30)]
    sent = await produce(infra.kafka_bootstrap, topic_prefix, events, times=2)
    await wait_for(lambda: _committed_at_least(url, sent), what="all messages committed")
    rows = await fetch(url, "SELECT child_id, count(*) AS n FROM effects GROUP BY child_id")
    assert {row["child_id"] for row in rows} == {event.child_id for event in events}
    assert all(row["n"] == 1 for row in rows)


async def test_poison_goes_to_dead_letters_and_the_partition_keeps_flowing(infra, topic_prefix,
                                                                          running_consumer) -> None:
    url, handlers, consumer = running_consumer
    poison_child, good_child = uuid.uuid4(), uuid.uuid4()
    handlers.poison_children.add(poison_child)
    key = str(good_child).encode()  # one key: everything lands on one partition, in this order
    malformed = (REGISTRY_TOPIC, key, [("ce_id", str(uuid.uuid4()).encode()), ("ce_source", b"/x"),
                                       ("ce_type", b"cn.shouhu.ChildRegistered.v1"), ("ce_specversion", b"1.0"),
                                       ("ce_time", b"2026-01-01T00:00:00+00:00"),
                                       ("content-type", b"application/json")], b'{"child_id": "not-a-uuid"}')
    sent = await produce(infra.kafka_bootstrap, topic_prefix, [], raw=[malformed])
    sent += await _produce_on_key(infra, topic_prefix, [child_registered(poison_child), child_registered(good_child)],
                                  key)
    await wait_for(lambda: _committed_at_least(url, sent), what="the partition to move past the poison")

    effects = await fetch(url, "SELECT child_id FROM effects")
    assert [row["child_id"] for row in effects] == [good_child]
    dead = await fetch(url, "SELECT id, kind, reason, attempts, event_type, payload FROM dead_letters ORDER BY id")
    assert [(row["kind"], row["attempts"]) for row in dead] == [("poison", 1), ("poison", 3)]
    assert dead[0]["reason"].startswith("invalid event data: child_id")
    assert dead[1]["reason"] == "RuntimeError"

    # Fixed handler, replayed dead letter: applied once, and the dead letter is resolved.
    handlers.poison_children.clear()
    assert await consumer.replay(dead[1]["id"]) == 1
    assert await consumer.replay(dead[1]["id"]) == 0  # already resolved
    effects = await fetch(url, "SELECT child_id FROM effects WHERE child_id = $1", poison_child)
    assert len(effects) == 1


async def test_an_event_before_its_dependency_is_parked_then_applied(infra, topic_prefix, running_consumer) -> None:
    url, _handlers, _consumer = running_consumer
    child = uuid.uuid4()
    await produce(infra.kafka_bootstrap, topic_prefix, [child_updated(child)])
    await wait_for(lambda: _has_rows(url, "SELECT 1 FROM dead_letters WHERE kind = 'waiting'"),
                   what="the update to be parked")
    await produce(infra.kafka_bootstrap, topic_prefix, [child_registered(child)])
    await wait_for(lambda: _has_rows(url, "SELECT 1 FROM effects WHERE kind = 'updated'"),
                   what="the parked update to apply once its child is known")
    parked = await fetch(url, "SELECT status FROM dead_letters")
    assert [row["status"] for row in parked] == ["resolved"]
    kinds = await fetch(url, "SELECT kind FROM effects ORDER BY kind")
    assert [row["kind"] for row in kinds] == ["registered", "updated"]


async def test_kill_9_between_database_commit_and_offset_commit_loses_and_doubles_nothing(infra,
                                                                                         topic_prefix) -> None:
    url = await create_plumbing_database(infra)
    await ensure_topics(plumbing_settings(infra, url, topic_prefix))
    events = [child_registered(uuid.uuid4()) for _ in range(40)]
    sent = await produce(infra.kafka_bootstrap, topic_prefix, events)
    env = {**os.environ, "TEST_DATABASE_URL": url, "TEST_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
           "TEST_TOPIC_PREFIX": topic_prefix, "TEST_GROUP": f"{topic_prefix}crash", "PYTHONUNBUFFERED": "1"}

    worker = subprocess.Popen([sys.executable, "-m", "tests.support.counting_worker"], cwd=REPO,
                              env={**env, "TEST_PAUSE_BEFORE_OFFSET_COMMIT_S": "120"},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        await wait_for(lambda: _read_until(worker, b"consumer.db_committed"), timeout=60,
                       what="the worker to commit to the database and pause before its offset commit")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    applied_before_crash = len(await fetch(url, "SELECT 1 FROM effects"))
    assert applied_before_crash > 0
    assert await committed_total(url) < sent, "offsets of the applied batch were never committed"

    restarted = subprocess.Popen([sys.executable, "-m", "tests.support.counting_worker"], cwd=REPO, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        await wait_for(lambda: _committed_at_least(url, sent), timeout=60, what="the restarted worker to catch up")
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)
    rows = await fetch(url, "SELECT child_id, count(*) AS n FROM effects GROUP BY child_id")
    assert {row["child_id"] for row in rows} == {event.child_id for event in events}, "nothing lost"
    assert all(row["n"] == 1 for row in rows), "nothing doubled"


async def _read_until(process: subprocess.Popen, marker: bytes) -> bool:
    line = await asyncio.to_thread(process.stdout.readline)  # type: ignore[union-attr]
    if not line and process.poll() is not None:
        raise AssertionError("the worker exited early")
    return marker in line


async def _produce_on_key(infra, topic_prefix: str, events: list, key: bytes) -> int:
    from aiokafka import AIOKafkaProducer

    from shared.contracts import encode

    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            encoded = encode(event)
            await producer.send_and_wait(topic_prefix + encoded.topic, value=encoded.value, key=key,
                                         headers=[(k, v.encode()) for k, v in encoded.headers.items()])
    finally:
        await producer.stop()
    return len(events)


async def _committed_at_least(url: str, count: int) -> bool:
    return await committed_total(url) >= count


async def _has_rows(url: str, query: str) -> bool:
    return bool(await fetch(url, query))

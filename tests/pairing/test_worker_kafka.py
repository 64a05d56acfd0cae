"""Pairing's worker wiring on real Kafka: its consumers take registry events (each sent
twice) into the projection and its relay publishes the PairingEnded that a ChildClosed causes."""

from __future__ import annotations

import asyncio
import uuid
from typing import AsyncIterator

import pytest_asyncio
from aiokafka import AIOKafkaConsumer

from services.pairing.config import PairingSettings
from services.pairing.worker import build_consumers
from shared.contracts import ChildRegistered, decode
from shared.contracts.events import PAIRING_TOPIC
from shared.outbox import OutboxRelay
from shared.topics import ensure_topics
from tests.pairing.harness import Place, closed, start_harness, staff
from tests.support.plumbing import produce
from tests.support.waiting import wait_for


@pytest_asyncio.fixture(loop_scope="session")
async def worker(infra, topic_prefix) -> AsyncIterator[tuple]:
    async for harness in start_harness(infra):
        settings = PairingSettings(database_url=harness.database_url, kafka_bootstrap_servers=infra.kafka_bootstrap,
                                   kafka_topic_prefix=topic_prefix, consumer_group=f"{topic_prefix}pairing",
                                   kafka_topic_partitions=2, relay_poll_interval_s=0.2)
        await ensure_topics(settings)
        loops = [consumer.run() for consumer in build_consumers(settings, harness.pool)]
        tasks = [asyncio.create_task(loop) for loop in [*loops, OutboxRelay(settings, harness.pool).run()]]
        try:
            yield harness, settings
        finally:
            await stop(tasks)


async def stop(tasks: list[asyncio.Task]) -> None:
    """Cancels until every task has ended. On Python 3.11 asyncio.wait_for may swallow a
    cancellation that lands as its inner wait completes (the relay's wake-up wait), so one
    cancel is not always enough and an unbounded gather could hang the test run."""
    for _ in range(100):
        pending = [task for task in tasks if not task.done()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.2)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved


async def test_registered_then_closed_over_kafka_ends_the_pairing_and_publishes_it(infra, topic_prefix,
                                                                                   worker) -> None:
    harness, _settings = worker
    place = Place.fresh()
    child_id = uuid.uuid4()
    await produce(infra.kafka_bootstrap, topic_prefix, [ChildRegistered(
        child_id=child_id, jurisdiction=place.jurisdiction(), record_version=1)], times=2)

    async def queued() -> bool:
        response = await harness.client.get("/v1/queue/unpaired", params={"jurisdiction": place.township},
                                            headers=staff())
        return [item["child_id"] for item in response.json()["items"]] == [str(child_id)]

    await wait_for(queued, timeout=30, what="the child in the unpaired queue")
    caregiver = await harness.caregiver(place, kind="children_director")
    assert (await harness.pair(child_id, caregiver["id"])).status_code == 201

    await produce(infra.kafka_bootstrap, topic_prefix, [closed(child_id, place, version=2)], times=2)

    reader = AIOKafkaConsumer(topic_prefix + PAIRING_TOPIC, bootstrap_servers=infra.kafka_bootstrap,
                              auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await reader.start()
    seen: list[str] = []
    try:
        async def pairing_ended_published() -> bool:
            for records in (await reader.getmany(timeout_ms=300)).values():
                for record in records:
                    seen.append(decode(record.headers, record.key, record.value).type)
            return "cn.shouhu.PairingEnded.v1" in seen

        await wait_for(pairing_ended_published, timeout=30, what="PairingEnded on Kafka")
    finally:
        await reader.stop()
    assert seen.count("cn.shouhu.PairingEnded.v1") == 1
    assert {"cn.shouhu.CaregiverEnrolled.v1", "cn.shouhu.PairingCreated.v1"} <= set(seen)
    assert await harness.fetchval("SELECT end_reason FROM pairings WHERE child_id = $1", child_id) == "child_closed"

"""The runbook "Raising a topic's partitions" (docs/operations.md) on real Kafka and PostgreSQL:
partitions are added to a topic while a Shouhu consumer group is consuming it, and every event,
before, during and after the change, has exactly one effect.

What could go wrong, and what this shows does not: events written to a new partition before the
consumer's next metadata refresh (it starts new partitions from the earliest offset, so they are
read, not skipped); a key moving to another partition, so a child's update overtakes its
registration (the update is parked until the registration is applied); and redeliveries across
the rebalance (the inbox applies each event id once)."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions

from shared.consumer import Consumer
from shared.contracts.events import REGISTRY_TOPIC
from shared.db import create_pool
from shared.topics import ensure_topics
from tests.support.plumbing import (
    CountingHandlers, child_registered, child_updated, committed_total, create_plumbing_database, fetch,
    plumbing_settings, produce,
)
from tests.support.waiting import wait_for

BEFORE, AFTER = 2, 6


async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> int:
    [description] = await admin.describe_topics([topic])
    return len(description["partitions"])


async def test_raising_partitions_while_consuming_loses_and_doubles_nothing(infra, topic_prefix) -> None:
    url = await create_plumbing_database(infra)
    settings = plumbing_settings(infra, url, topic_prefix, kafka_topic_partitions=BEFORE)
    await ensure_topics(settings)
    topic = topic_prefix + REGISTRY_TOPIC
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    pool = await create_pool(settings)
    consumer = Consumer(settings, pool, name="counting", topics=(REGISTRY_TOPIC,),
                        handlers=CountingHandlers().handler_map())
    task = asyncio.create_task(consumer.run())
    try:
        assert await _partitions(admin, topic) == BEFORE
        registered = [child_registered(uuid.uuid4()) for _ in range(40)]
        sent = await produce(infra.kafka_bootstrap, topic_prefix, registered)
        # The group is consuming (part of the backlog is applied) when the partitions are added.
        await wait_for(lambda: _committed_at_least(url, 1), what="the consumer to start")

        # The runbook's step: partitions only ever grow (Kafka cannot shrink a topic).
        await admin.create_partitions({topic: NewPartitions(total_count=AFTER)})
        assert await _partitions(admin, topic) == AFTER

        # Straight after the change, before the consumer has seen it: new children, the earlier
        # children's updates (whose keys now hash to other partitions, so an update may be read
        # before its registration), and every update once more (a redelivery).
        newcomers = [child_registered(uuid.uuid4()) for _ in range(60)]
        updates = [child_updated(event.child_id) for event in registered]
        sent += await produce(infra.kafka_bootstrap, topic_prefix, newcomers)
        sent += await produce(infra.kafka_bootstrap, topic_prefix, updates, times=2)

        await wait_for(lambda: _committed_at_least(url, sent), timeout=90, what="every message committed")
        progress = await fetch(url, "SELECT kafka_partition, committed_offset FROM consumer_progress WHERE topic = $1",
                               topic)
        assert {row["kafka_partition"] for row in progress if row["committed_offset"] > 0} - set(range(BEFORE)), \
            f"no message reached a new partition: {[dict(row) for row in progress]}"
        await wait_for(lambda: _effects(url, len(registered) + len(newcomers) + len(updates)), timeout=60,
                       what="the parked updates applied")
        effects = await fetch(url, "SELECT child_id, kind, count(*) AS n FROM effects GROUP BY child_id, kind")
        applied = {(row["child_id"], row["kind"]): row["n"] for row in effects}
        expected = {(e.child_id, "registered") for e in registered + newcomers} | {(e.child_id, "updated") for e in updates}
        assert set(applied) == expected, f"lost: {len(expected - set(applied))}, unexpected: {set(applied) - expected}"
        assert set(applied.values()) == {1}, "an event was applied twice"
        dead = await fetch(url, "SELECT count(*) AS n FROM dead_letters")
        assert dead[0]["n"] == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pool.close()
        await admin.close()


async def _committed_at_least(url: str, count: int) -> bool:
    return await committed_total(url) >= count


async def _effects(url: str, count: int) -> bool:
    rows = await fetch(url, "SELECT count(*) AS n FROM effects")
    return rows[0]["n"] >= count

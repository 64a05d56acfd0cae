"""The outbox relay on real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import uuid

from shared import outbox
from shared.contracts.events import REGISTRY_TOPIC
from shared.db import create_pool
from shared.outbox import OutboxRelay
from shared.topics import ensure_topics
from tests.support.plumbing import TopicReader, child_registered, create_plumbing_database, fetch, plumbing_settings
from tests.support.waiting import wait_for

TOPIC = REGISTRY_TOPIC


async def test_transactions_committing_out_of_id_order_both_arrive(infra, topic_prefix) -> None:
    url = await create_plumbing_database(infra)
    settings = plumbing_settings(infra, url, topic_prefix)
    await ensure_topics(settings)
    pool = await create_pool(settings)
    relay_task = asyncio.create_task(OutboxRelay(settings, pool).run())
    try:
        async with pool.acquire() as slow, pool.acquire() as fast, \
                TopicReader(infra.kafka_bootstrap, topic_prefix + TOPIC) as reader:
            slow_tx = slow.transaction()
            await slow_tx.start()
            slow_id = await outbox.add(slow, child_registered(uuid.uuid4()))      # takes the lower id
            async with fast.transaction():
                fast_id = await outbox.add(fast, child_registered(uuid.uuid4()))  # higher id, commits first
            rows = await fetch(url, "SELECT id FROM outbox WHERE event_id = $1", fast_id)
            assert rows, "the fast transaction committed"

            await wait_for(lambda: _contains(reader, fast_id), what="the later-id event on Kafka")
            await wait_for(lambda: _status(url, fast_id, "published"), what="the relay to mark it published")

            await slow_tx.commit()  # the lower id becomes visible only now
            await wait_for(lambda: _contains(reader, slow_id), what="the earlier-id event on Kafka")
            ids = await fetch(url, "SELECT id FROM outbox ORDER BY id")
            assert len(ids) == 2
    finally:
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await pool.close()


async def test_a_second_relay_stands_by_while_the_first_publishes(infra, topic_prefix) -> None:
    url = await create_plumbing_database(infra)
    settings = plumbing_settings(infra, url, topic_prefix)
    await ensure_topics(settings)
    pool = await create_pool(settings)
    relays = [OutboxRelay(settings, pool), OutboxRelay(settings, pool)]
    tasks = [asyncio.create_task(relay.run()) for relay in relays]
    try:
        async with pool.acquire() as conn, TopicReader(infra.kafka_bootstrap, topic_prefix + TOPIC) as reader:
            event_ids = []
            for _ in range(20):
                async with conn.transaction():
                    event_ids.append(str(await outbox.add(conn, child_registered(uuid.uuid4()))))
            await wait_for(lambda: _contains_all(reader, event_ids), what="all twenty events")
            assert sorted(reader.event_ids) == sorted(event_ids), "each event published once"
            await wait_for(lambda: _published_counts_are(relays, [0, 20]), what="one relay to have published all")
            assert sorted(reader.event_ids) == sorted(event_ids)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await pool.close()


async def _contains(reader: TopicReader, event_id: uuid.UUID) -> bool:
    return str(event_id) in await reader.poll()


async def _contains_all(reader: TopicReader, event_ids: list[str]) -> bool:
    return set(event_ids) <= set(await reader.poll())


async def _status(url: str, event_id: uuid.UUID, status: str) -> bool:
    rows = await fetch(url, "SELECT status FROM outbox WHERE event_id = $1", event_id)
    return bool(rows) and rows[0]["status"] == status


async def _published_counts_are(relays: list[OutboxRelay], expected: list[int]) -> bool:
    return sorted(relay.published_total for relay in relays) == expected


async def test_one_childs_events_keep_their_order_on_the_partition_send_would_choose(infra, topic_prefix) -> None:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.partitioner import DefaultPartitioner

    url = await create_plumbing_database(infra)
    settings = plumbing_settings(infra, url, topic_prefix)
    await ensure_topics(settings)
    pool = await create_pool(settings)
    children = [uuid.uuid4() for _ in range(4)]
    written: dict[str, list[str]] = {str(c): [] for c in children}
    async with pool.acquire() as conn:
        for version in range(1, 16):
            for child in children:  # interleaved, as concurrent work on several children is
                async with conn.transaction():
                    event_id = await outbox.add(conn, child_registered(child, version))
                written[str(child)].append(str(event_id))
    relay_task = asyncio.create_task(OutboxRelay(settings, pool).run())
    consumer = AIOKafkaConsumer(topic_prefix + TOPIC, bootstrap_servers=infra.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await consumer.start()
    seen: dict[str, list[tuple[int, str]]] = {str(c): [] for c in children}
    try:
        async def all_seen() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    seen[record.key.decode()].append((record.partition, dict(record.headers)["ce_id"].decode()))
            return sum(map(len, seen.values())) >= 60

        await wait_for(all_seen, what="sixty events")
        partitions = sorted(consumer.partitions_for_topic(topic_prefix + TOPIC))
    finally:
        await consumer.stop()
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await pool.close()
    for child, records in seen.items():
        expected_partition = DefaultPartitioner()(child.encode(), partitions, partitions)
        assert {partition for partition, _ in records} == {expected_partition}
        assert [event_id for _, event_id in records] == written[child]

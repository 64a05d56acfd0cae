"""Outbox relay throughput, as a ratio of raw aiokafka throughput in the same run.

Baseline ("raw"): a producer made by `shared.outbox.create_producer` (idempotent,
acks=all, the relay's linger and batch size) publishing the very messages the outbox
holds (topic, key, headers and value read back from the outbox rows before timing),
packed with `create_batch()` and submitted with `send_batch()` per partition, the
partition chosen by aiokafka's default partitioner as `send()` would.

Measured ("relay"): N events are first written with `shared.outbox.add` in transactions
of 1000 (not timed); then `OutboxRelay(settings, pool).run()` is started as a task and
timed until no row is `pending`. The end is noticed by watching the relay's
`published_total` (bumped after each batch's UPDATE commits) every 5 ms and then
confirmed in the database; the database is also asked every 250 ms regardless. Polling
the database every 20 ms instead costs up to ~3 ms a query late in a run (the pending
index fills with dead entries), i.e. it would compete with the relay it measures.

Both timings INCLUDE the producer's start (bootstrap + metadata), since the relay starts
its own producer inside run(); the start cost is printed separately. The raw run is done
before and after the relay run and the faster of the two is the baseline, so the ratio
is not flattered by a cold first run.

Settings are the production defaults of ServiceSettings (relay_batch_size=500,
6 partitions) unless overridden by flags.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner

from bench.common import Goal, delete_topics, infrastructure, quiet_logging, rule, unique_prefix
from shared import outbox
from shared.contracts import ChildRegistered, Jurisdiction
from shared.db import create_pool
from shared.migrations import migrate
from shared.outbox import OutboxRelay, create_producer
from shared.settings import ServiceSettings
from shared.topics import ensure_topics, topic_partitions
from tests.support.databases import create_database, drop_database
from tests.support.plumbing import EFFECTS_DIR

GOAL_RATIO = 0.6
INSERT_CHUNK = 1000
POLL_INTERVAL_S = 0.005  # checks the relay's in-process counter
DB_CHECK_INTERVAL_S = 0.25  # and the database, which decides
TIME_LIMIT_S = 90.0  # per timed phase; a stuck phase is reported, not waited for

Message = tuple[str, bytes, list[tuple[str, bytes]], bytes]  # topic, key, headers, value


@dataclass
class Timing:
    label: str
    events: int
    seconds: float
    start_s: float = 0.0  # part of `seconds` spent starting the producer (raw only)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def sample_event() -> ChildRegistered:
    """Like the registry's ChildRegistered for a real child (village, school, category)."""
    return ChildRegistered(
        child_id=uuid.uuid4(), record_version=1, school_id="school-1", categories=("left_behind",),
        age_band="6-11",
        jurisdiction=Jurisdiction(county_code="330102000000", township_code="330102001000",
                                  village_code="330102001001"))


async def fill_outbox(pool: asyncpg.Pool, events: int) -> float:
    started = time.perf_counter()
    async with pool.acquire() as conn:
        for first in range(0, events, INSERT_CHUNK):
            async with conn.transaction():
                for _ in range(min(INSERT_CHUNK, events - first)):
                    await outbox.add(conn, sample_event())
    return time.perf_counter() - started


async def outbox_messages(pool: asyncpg.Pool, prefix: str) -> list[Message]:
    """The outbox rows exactly as the relay will send them (same bytes), in id order."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT topic, message_key, headers, payload::text AS payload FROM outbox ORDER BY id")
    return [(prefix + row["topic"], row["message_key"].encode(),
             [(name, value.encode()) for name, value in row["headers"].items()], row["payload"].encode())
            for row in rows]


async def raw_send_batch(settings: ServiceSettings, messages: list[Message]) -> Timing:
    timeout = settings.kafka_request_timeout_ms / 1000 * 2
    started = time.perf_counter()
    producer = create_producer(settings)
    await asyncio.wait_for(producer.start(), timeout)
    start_s = time.perf_counter() - started
    try:
        partitioner = DefaultPartitioner()
        partitions: dict[str, list[int]] = {}
        open_batches: dict[tuple[str, int], object] = {}
        futures = []
        for topic, key, headers, value in messages:
            if topic not in partitions:
                partitions[topic] = sorted(await producer.partitions_for(topic))
            all_partitions = partitions[topic]
            partition = partitioner(key, all_partitions, all_partitions)
            batch = open_batches.get((topic, partition))
            if batch is None:
                batch = open_batches[(topic, partition)] = producer.create_batch()
            if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:  # full
                futures.append(await producer.send_batch(batch, topic, partition=partition))
                batch = open_batches[(topic, partition)] = producer.create_batch()
                batch.append(timestamp=None, key=key, value=value, headers=headers)
        for (topic, partition), batch in open_batches.items():
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.wait_for(asyncio.gather(*futures), timeout)
        return Timing("raw send_batch", len(messages), time.perf_counter() - started, start_s)
    finally:
        await producer.stop()


async def relay_run(settings: ServiceSettings, pool: asyncpg.Pool, events: int,
                    relay_class: type[OutboxRelay] = OutboxRelay) -> Timing:
    watcher = await asyncpg.connect(settings.database_url)
    relay = relay_class(settings, pool)
    started = time.perf_counter()
    task = asyncio.create_task(relay.run(), name="bench-relay")
    try:
        deadline = started + TIME_LIMIT_S
        next_db_check = started
        while time.perf_counter() < deadline:
            if task.done():
                task.result()  # raises what killed the relay
                raise RuntimeError("the relay stopped by itself")
            # published_total grows only after a batch's UPDATE has committed; the database
            # has the last word, but is asked rarely: each check scans the pending index,
            # which is the relay's own hot path, and would slow what is being measured.
            now = time.perf_counter()
            if relay.published_total >= events or now >= next_db_check:
                next_db_check = now + DB_CHECK_INTERVAL_S
                if not await watcher.fetchval("SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'pending')"):
                    break
            await asyncio.sleep(POLL_INTERVAL_S)
        elapsed = time.perf_counter() - started
        published = await watcher.fetchval("SELECT count(*) FROM outbox WHERE status = 'published'")
        # A scratch relay_class that deletes rows instead of marking them can only report itself.
        published = published or relay.published_total
        if published < events:
            print(f"  relay: only {published}/{events} published within {TIME_LIMIT_S:.0f} s", file=sys.stderr)
        return Timing("outbox relay", published, elapsed)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await watcher.close()


async def end_offsets_total(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, [topic])
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def run(events: int = 50_000, relay_batch_size: int | None = None, partitions: int = 6,
              relay_class: type[OutboxRelay] = OutboxRelay) -> list[Goal]:
    """`relay_class` lets a scratch experiment time a modified relay against the same baseline."""
    infra = infrastructure()
    rule(f"relay throughput: {events:,} events, {partitions} partitions")
    url = await create_database(infra, "bench_relay")
    raw_prefix, relay_prefix = unique_prefix("raw"), unique_prefix("relay")
    try:
        await migrate(url, "plumbing", EFFECTS_DIR)
        common = dict(service_name="bench-relay", database_url=url, kafka_bootstrap_servers=infra.kafka_bootstrap,
                      kafka_topic_partitions=partitions)
        if relay_batch_size:
            common["relay_batch_size"] = relay_batch_size
        relay_settings = ServiceSettings(kafka_topic_prefix=relay_prefix, **common)
        raw_settings = ServiceSettings(kafka_topic_prefix=raw_prefix, **common)
        await ensure_topics(relay_settings)
        await ensure_topics(raw_settings)
        pool = await create_pool(relay_settings)
        try:
            fill_s = await fill_outbox(pool, events)
            messages = await outbox_messages(pool, raw_prefix)
            size = sum(len(k) + len(v) + sum(len(n) + len(h) for n, h in hs) for _, k, hs, v in messages) / events
            print(f"  outbox filled in {fill_s:.1f} s (untimed); message ≈ {size:.0f} B (key+value+headers); "
                  f"relay_batch_size={relay_settings.relay_batch_size}, linger_ms=5, max_batch_size=256 KiB")
            raw1 = await raw_send_batch(raw_settings, messages)
            relay = await relay_run(relay_settings, pool, events, relay_class)
            raw2 = await raw_send_batch(raw_settings, messages)
        finally:
            await pool.close()
        topic = messages[0][0].removeprefix(raw_prefix)
        raw_total = await end_offsets_total(infra.kafka_bootstrap, raw_prefix + topic)
        relay_total = await end_offsets_total(infra.kafka_bootstrap, relay_prefix + topic)
    finally:
        await drop_database(infra, url)
        await delete_topics(infra.kafka_bootstrap, [raw_prefix, relay_prefix])

    baseline = max(raw1, raw2, key=lambda t: t.rate)
    for timing in (raw1, relay, raw2):
        extra = f"  (producer start {timing.start_s * 1000:.0f} ms)" if timing.start_s else ""
        print(f"  {timing.label:<15} {timing.events:>7,} events in {timing.seconds:6.2f} s = "
              f"{timing.rate:>9,.0f} events/s{extra}")
    print(f"  on Kafka: raw {raw_total:,} (expected {2 * events:,}), relay {relay_total:,} (expected {events:,})")
    ratio = relay.rate / baseline.rate if baseline.rate else 0.0
    goal = Goal("relay/raw throughput ratio", ratio, ">=", GOAL_RATIO)
    print(f"  relay {relay.rate:,.0f} events/s / raw {baseline.rate:,.0f} events/s (best of 2)")
    print("  " + goal.line(), flush=True)
    return [goal]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=50_000, help="events per run (default 50000)")
    parser.add_argument("--relay-batch-size", type=int, default=None,
                        help="override ServiceSettings.relay_batch_size (default: the setting's default, 500)")
    parser.add_argument("--partitions", type=int, default=6, help="partitions per topic (default 6)")


def main(args: argparse.Namespace) -> list[Goal]:
    quiet_logging()
    return asyncio.run(run(args.events, args.relay_batch_size, args.partitions))


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m bench.relay_throughput")
    add_arguments(cli)
    main(cli.parse_args())

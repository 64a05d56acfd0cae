"""Reconcile: republish outbox events that are missing from Kafka.

The relay marks a row published only after Kafka acknowledged it, so a missing event means
something outside our control: a topic deleted or recreated, retention shorter than an
outage, a restored Kafka backup. Reconcile reads the service's topics from the first
offset at or after `since` (offsets_for_times), collects the CloudEvent ids found, and
returns every outbox row published since then whose id is not on Kafka to 'pending', so
the relay publishes it again. Consumers' inboxes make any duplicate harmless.

The opposite loss is `orphans`: events on Kafka that the outbox no longer holds. A database
failover to a standby that lacked the last commits (asynchronous replication), or a restore
to a point in time, forgets writes whose events downstream services have already applied.
Nothing republishes or retracts those; the operator reviews them (docs/operations.md).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaConsumer

from shared.kafka_security import kafka_security
from shared.settings import ServiceSettings
from shared.topics import topic_partitions

# Look a little before `since`: Kafka's record timestamp precedes the relay's published_at.
_SLACK = timedelta(minutes=5)


def create_reader(settings: ServiceSettings) -> AIOKafkaConsumer:
    """A consumer outside any group: reads, commits nothing."""
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, **kafka_security(settings),
                            enable_auto_commit=False, group_id=None,
                            request_timeout_ms=settings.kafka_request_timeout_ms + 5000)


async def event_ids_on_kafka(settings: ServiceSettings, topics: list[str], since: datetime,
                             timeout_s: float = 60.0) -> set[UUID]:
    consumer = create_reader(settings)
    await consumer.start()
    found: set[UUID] = set()
    try:
        partitions = await topic_partitions(consumer, topics)
        if not partitions:
            return found
        consumer.assign(partitions)
        starts = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
        ends = await consumer.end_offsets(partitions)
        remaining = {}
        for tp in partitions:
            start = starts.get(tp)
            if start is None or start.offset >= ends[tp]:
                continue
            consumer.seek(tp, start.offset)
            remaining[tp] = ends[tp]

        async def drain() -> None:
            while remaining:
                batch = await consumer.getmany(*remaining.keys(), timeout_ms=500)
                for tp, records in batch.items():
                    for record in records:
                        event_id = dict(record.headers or ()).get("ce_id")
                        if event_id:
                            found.add(UUID(event_id.decode()))
                    if records and records[-1].offset + 1 >= remaining[tp]:
                        del remaining[tp]
        await asyncio.wait_for(drain(), timeout_s)
    finally:
        await consumer.stop()
    return found


async def reconcile(settings: ServiceSettings, conn: asyncpg.Connection, since: datetime, *,
                    dry_run: bool = False) -> list[UUID]:
    """Returns the ids of events found missing (and, unless dry_run, queued again)."""
    rows = await conn.fetch(
        "SELECT event_id, topic FROM outbox WHERE status = 'published' AND published_at >= $1", since)
    if not rows:
        return []
    topics = sorted({settings.kafka_topic_prefix + row["topic"] for row in rows})
    on_kafka = await event_ids_on_kafka(settings, topics, since - _SLACK)
    missing = [row["event_id"] for row in rows if row["event_id"] not in on_kafka]
    if missing and not dry_run:
        await conn.execute(
            "UPDATE outbox SET status = 'pending', published_at = NULL WHERE event_id = ANY($1::uuid[])", missing)
    return missing


async def orphans(settings: ServiceSettings, conn: asyncpg.Connection, since: datetime) -> list[UUID]:
    """Ids of events on the service's topics since `since` that its outbox does not hold."""
    rows = await conn.fetch("SELECT DISTINCT topic FROM outbox")
    topics = sorted({settings.kafka_topic_prefix + row["topic"] for row in rows})
    if not topics:
        return []
    on_kafka = await event_ids_on_kafka(settings, topics, since)
    held = await conn.fetch("SELECT event_id FROM outbox WHERE event_id = ANY($1::uuid[])", list(on_kafka))
    return sorted(on_kafka - {row["event_id"] for row in held})

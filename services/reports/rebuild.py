"""`shouhu reports rebuild`: the read model built again from offset 0 of every domain
topic, into new tables, while the old ones keep answering; then the switch.

1. Empty copies of the read-model tables are made in a schema of their own.
2. Every partition of the three topics is read from its first offset up to its end offset
   (taken at the start) with a consumer of no group (the worker's committed offsets are not
   touched), each partition's batch applied in one transaction by the worker's own handlers,
   writing to the copies.
3. Switch, in one transaction: the answering tables are locked (the worker's next write
   and readers wait), the events published since step 2 are applied to the copies too, and
   the copies take the answering tables' place.

Why nothing is lost or doubled: every handler is idempotent on its own (a version, an id,
a first time kept), so an event the worker applies again after the switch changes nothing;
and every event the worker had applied before the lock has an offset below the end read
under the lock, so the copies have it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.reports import store_rebuild
from services.reports.config import ReportsSettings
from services.reports.handlers import HANDLERS, STATEMENTS
from shared.consumer import DependencyMissing
from shared.contracts import decode
from shared.contracts.envelope import UnknownEventType
from shared.contracts.events import PAIRING_TOPIC, REGISTRY_TOPIC, VISITS_TOPIC
from shared.db import create_pool
from shared.kafka_security import kafka_security
from shared.logging import get_logger

log = get_logger("reports.rebuild")

TOPICS = (REGISTRY_TOPIC, PAIRING_TOPIC, VISITS_TOPIC)


@dataclass
class RebuildResult:
    applied: int = 0
    skipped: int = 0  # unknown types, broken messages, events whose dependency never came
    seconds: float = 0.0
    positions: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.applied / self.seconds if self.seconds else 0.0


async def _apply(conn: asyncpg.Connection, records: list[Any], result: RebuildResult) -> None:
    """One partition batch into the build tables, in the caller's transaction.

    Events written by one statement each are grouped by statement and sent in one round
    trip per group (executemany), each group in the events' order. Groups run in the order
    of their first event: a table's later statement (a concern escalated) comes after its
    first (the concern raised), as its events did. The handlers that must find what they
    follow (a pairing's end) close the group run before them and run alone, each in a
    savepoint, so that one whose dependency never came is skipped and the batch commits."""
    await store_rebuild.write_to_build_tables(conn)
    groups: dict[str, list[tuple[Any, ...]]] = {}

    async def flush() -> None:
        for sql, rows in groups.items():
            await _execute_run(conn, sql, rows, result)
        groups.clear()

    for record in records:
        try:
            envelope = decode(record.headers, record.key, record.value or b"")
        except (UnknownEventType, ValueError):
            result.skipped += 1
            continue
        statement = STATEMENTS.get(type(envelope.data))
        if statement is not None:
            sql, args = statement(envelope)
            groups.setdefault(sql, []).append(args)
            continue
        handler = HANDLERS.get(type(envelope.data))  # type: ignore[call-overload]
        if handler is None:
            result.skipped += 1
            continue
        await flush()
        try:
            async with conn.transaction():
                await handler(conn, envelope)
            result.applied += 1
        except DependencyMissing:
            result.skipped += 1
            log.warning("rebuild.dependency_missing", event_type=envelope.type, topic=record.topic,
                        offset=record.offset)
    await flush()


async def _execute_run(conn: asyncpg.Connection, sql: str, rows: list[tuple[Any, ...]], result: RebuildResult) -> None:
    try:
        async with conn.transaction():
            await conn.executemany(sql, rows)
        result.applied += len(rows)
        return
    except asyncpg.PostgresError:
        pass  # a row the database refuses: find it, keep the others
    for args in rows:
        try:
            async with conn.transaction():
                await conn.execute(sql, *args)
            result.applied += 1
        except asyncpg.PostgresError as exc:
            result.skipped += 1
            log.warning("rebuild.row_refused", error=type(exc).__name__)


async def _read_until(consumer: AIOKafkaConsumer, pool: asyncpg.Pool, ends: dict[TopicPartition, int],
                      result: RebuildResult, conn: asyncpg.Connection | None = None) -> None:
    """Applies every record before `ends`. With `conn`, in its (open) transaction."""
    remaining = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=2000)
        for tp, records in batches.items():
            records = [r for r in records if r.offset < ends[tp]]
            if not records:
                continue
            if conn is not None:
                await _apply(conn, records, result)
            else:
                async with pool.acquire() as own, own.transaction():
                    await _apply(own, records, result)
        remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}


async def rebuild(settings: ReportsSettings) -> RebuildResult:
    result = RebuildResult()
    started = time.monotonic()
    pool = await create_pool(settings, max_size=2)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                client_id="shouhu-reports-rebuild", max_partition_fetch_bytes=8 * 1024 * 1024,
                                **kafka_security(settings))
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster's metadata: the partitions of every topic
        partitions = [TopicPartition(settings.kafka_topic_prefix + topic, number)
                      for topic in TOPICS
                      for number in sorted(consumer.partitions_for_topic(settings.kafka_topic_prefix + topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        async with pool.acquire() as conn:
            await store_rebuild.create_build_tables(conn)
        await _read_until(consumer, pool, await consumer.end_offsets(partitions), result)
        log.info("rebuild.caught_up", applied=result.applied)
        async with pool.acquire() as conn, conn.transaction():
            await store_rebuild.lock_answering_tables(conn)
            ends = await consumer.end_offsets(partitions)
            await _read_until(consumer, pool, ends, result, conn=conn)
            await store_rebuild.switch(conn)
        result.positions = {f"{tp.topic}:{tp.partition}": end for tp, end in ends.items()}
    finally:
        await consumer.stop()
        await pool.close()
    result.seconds = time.monotonic() - started
    log.info("rebuild.switched", applied=result.applied, skipped=result.skipped, seconds=round(result.seconds, 2))
    return result

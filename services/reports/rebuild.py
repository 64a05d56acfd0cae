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

import asyncio
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.reports import store_rebuild
from services.reports.config import ReportsSettings
from services.reports.handlers import HANDLERS, STATEMENTS
from services.reports.store import INSERTS
from shared.consumer import DependencyMissing
from shared.contracts import decode
from shared.contracts.envelope import UnknownEventType
from shared.contracts.replay import decode_replayed
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


@dataclass
class _Alone:
    """An event whose handler must find what it follows: run by itself, in a savepoint."""

    handler: Any
    envelope: Any
    topic: str
    offset: int


Step = tuple[str, list[tuple[Any, ...]]] | _Alone  # a statement's run of rows, or one handler


def _prepare(records: list[Any], result: RebuildResult) -> list[Step]:
    """Decodes a fetch's records into the steps that write them (CPU work, no I/O).

    Events written by one statement each are grouped by statement and sent in one round
    trip per group (executemany), each group in the events' order. Groups run in the order
    of their first event: a table's later statement (a concern escalated) comes after its
    first (the concern raised), as its events did. The handlers that must find what they
    follow (a pairing's end) close the groups before them and run alone.

    The statements' events are read as facts without validating them again (they were
    validated when published: shared/contracts/replay.py); a handler run alone gets the
    validated model, and so does a statement that cannot be made from the facts."""
    steps: list[Step] = []
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for record in records:
        try:
            envelope = decode_replayed(record.headers, record.value or b"")
            model = getattr(envelope.data, "model", type(envelope.data))
            statement = STATEMENTS.get(model)
            if statement is not None:
                try:
                    sql, args = statement(envelope)
                except (AttributeError, TypeError, ValueError):  # wants more than the facts
                    sql, args = statement(decode(record.headers, record.key, record.value or b""))
                groups.setdefault(sql, []).append(args)
                continue
            handler = HANDLERS.get(model)  # type: ignore[call-overload]
            if handler is None:
                result.skipped += 1
                continue
            envelope = decode(record.headers, record.key, record.value or b"")
        except (UnknownEventType, ValueError):
            result.skipped += 1
            continue
        steps.extend(groups.items())
        groups = {}
        steps.append(_Alone(handler, envelope, record.topic, record.offset))
    steps.extend(groups.items())
    return steps


async def _apply(conn: asyncpg.Connection, steps: list[Step], result: RebuildResult) -> None:
    """One fetch's steps into the build tables, in the caller's transaction. A handler whose
    dependency never came is skipped (its savepoint rolled back) and the batch commits."""
    await store_rebuild.write_to_build_tables(conn)
    for step in steps:
        if not isinstance(step, _Alone):
            await _execute_run(conn, step[0], step[1], result)
            continue
        try:
            async with conn.transaction():
                await step.handler(conn, step.envelope)
            result.applied += 1
        except DependencyMissing:
            result.skipped += 1
            log.warning("rebuild.dependency_missing", event_type=step.envelope.type, topic=step.topic,
                        offset=step.offset)


async def _execute_run(conn: asyncpg.Connection, sql: str, rows: list[tuple[Any, ...]], result: RebuildResult) -> None:
    """A statement's run of rows, by the cheapest write that the database accepts: copied
    straight into the table (every key new), copied into a staging table and inserted with
    the statement's conflict clause, executemany (one round trip), and row by row, which
    finds a row the database refuses and keeps the others."""
    insert = INSERTS.get(sql)
    if insert is not None and len(rows) >= _STAGED_RUN:
        for write in (store_rebuild.copy_run, store_rebuild.insert_run):
            try:
                async with conn.transaction():
                    await write(conn, insert, rows)
                result.applied += len(rows)
                return
            except asyncpg.PostgresError:
                pass  # a key already there or repeated in the run; a refused row
    try:
        async with conn.transaction():
            await conn.executemany(sql, rows)
        result.applied += len(rows)
        return
    except asyncpg.PostgresError:
        pass
    for args in rows:
        try:
            async with conn.transaction():
                await conn.execute(sql, *args)
            result.applied += 1
        except asyncpg.PostgresError as exc:
            result.skipped += 1
            log.warning("rebuild.row_refused", error=type(exc).__name__)


_STAGED_RUN = 100  # rows from which COPY and one INSERT … SELECT beat executemany
_FETCH_RECORDS = 10_000  # per fetch, all partitions together: one transaction each
_QUEUED_FETCHES = 2  # decoded fetches waiting for the writer: reading overlaps writing


async def _read_until(consumer: AIOKafkaConsumer, pool: asyncpg.Pool, ends: dict[TopicPartition, int],
                      result: RebuildResult, conn: asyncpg.Connection | None = None) -> None:
    """Applies every record before `ends`. With `conn`, in its (open) transaction.

    Two tasks: the reader fetches and decodes while the writer waits on the database with
    the fetch before, so Kafka, Python and PostgreSQL work at the same time."""
    queue: asyncio.Queue[list[Step] | None] = asyncio.Queue(maxsize=_QUEUED_FETCHES)

    async def read() -> None:
        remaining = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=_FETCH_RECORDS)
            records = [r for tp, rs in batches.items() for r in rs if r.offset < ends[tp]]
            if records:
                await queue.put(_prepare(records, result))
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        await queue.put(None)

    async def write() -> None:
        while (steps := await queue.get()) is not None:
            if conn is not None:
                await _apply(conn, steps, result)
            else:
                async with pool.acquire() as own, own.transaction():
                    await _apply(own, steps, result)

    async with asyncio.TaskGroup() as group:
        group.create_task(read())
        group.create_task(write())


def _consumer(settings: ReportsSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                            enable_auto_commit=False, auto_offset_reset="earliest",
                            client_id="shouhu-reports-rebuild", max_partition_fetch_bytes=8 * 1024 * 1024,
                            **kafka_security(settings))


async def _build_share(settings: ReportsSettings, ends: dict[TopicPartition, int]) -> RebuildResult:
    """One process's share of the partitions, from their first offset up to `ends`."""
    result = RebuildResult()
    pool = await create_pool(settings, max_size=1)
    consumer = _consumer(settings)
    await consumer.start()
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        await _read_until(consumer, pool, ends, result)
    finally:
        await consumer.stop()
        await pool.close()
    return result


def _build_share_in_process(settings: ReportsSettings, ends: list[tuple[str, int, int]]) -> tuple[int, int]:
    result = asyncio.run(_build_share(settings, {TopicPartition(topic, number): end for topic, number, end in ends}))
    return result.applied, result.skipped


async def _build_in_parallel(settings: ReportsSettings, ends: dict[TopicPartition, int], processes: int,
                             result: RebuildResult) -> None:
    """The partitions shared out among processes (decoding is CPU work, one core each).
    Every fact's events share a partition (keyed by the child), so the shares are independent."""
    shares: list[list[tuple[str, int, int]]] = [[] for _ in range(max(1, min(processes, len(ends))))]
    for index, (tp, end) in enumerate(sorted(ends.items(), key=lambda item: -item[1])):
        shares[index % len(shares)].append((tp.topic, tp.partition, end))
    shares = [share for share in shares if share]
    # This process builds the first share itself while the others start (a spawned process
    # imports everything again: seconds on a busy machine, which this one does not wait for).
    own = _build_share(settings, {TopicPartition(topic, number): end for topic, number, end in shares[0]})
    if len(shares) == 1:
        done = [await own]
    else:
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(len(shares) - 1, mp_context=multiprocessing.get_context("spawn")) as executor:
            done = list(await asyncio.gather(own, *(loop.run_in_executor(
                executor, _build_share_in_process, settings, share) for share in shares[1:])))
    for counted in done:
        applied, skipped = (counted.applied, counted.skipped) if isinstance(counted, RebuildResult) else counted
        result.applied += applied
        result.skipped += skipped


async def rebuild(settings: ReportsSettings, *, processes: int | None = None) -> RebuildResult:
    """`processes`: how many build the copies side by side (default: one per core)."""
    result = RebuildResult()
    started = time.monotonic()
    pool = await create_pool(settings, max_size=2)
    consumer = _consumer(settings)
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster's metadata: the partitions of every topic
        partitions = [TopicPartition(settings.kafka_topic_prefix + topic, number)
                      for topic in TOPICS
                      for number in sorted(consumer.partitions_for_topic(settings.kafka_topic_prefix + topic) or ())]
        consumer.assign(partitions)
        async with pool.acquire() as conn:
            await store_rebuild.create_build_tables(conn)
        first_ends = await consumer.end_offsets(partitions)
        await _build_in_parallel(settings, first_ends, processes or os.cpu_count() or 1, result)
        log.info("rebuild.caught_up", applied=result.applied)
        async with pool.acquire() as conn:
            await store_rebuild.analyze_build_tables(conn)
        for tp, end in first_ends.items():
            consumer.seek(tp, end)
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

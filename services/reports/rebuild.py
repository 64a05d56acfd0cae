"""`shouhu reports rebuild`: the read model built again from offset 0 of every domain
topic, into new tables, while the old ones keep answering; then the switch.

1. Empty copies of the read-model tables are made in a schema of their own.
2. Every partition of the four domain topics is read from its first offset up to its end offset
   (taken at the start) with consumers of no group (the worker's committed offsets are not
   touched), in one process per core, each claiming partitions as it goes; each fetch is
   applied in one transaction by the worker's own statements and handlers, writing to the
   copies, whose other indexes and statistics are made once every row is in.
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
import gc
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Iterator

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
from shared.contracts.events import NOTIFY_TOPIC, PAIRING_TOPIC, REGISTRY_TOPIC, VISITS_TOPIC
from shared.db import create_pool
from shared.kafka_security import kafka_security
from shared.logging import get_logger
from shared.topics import topic_partitions

log = get_logger("reports.rebuild")

TOPICS = (REGISTRY_TOPIC, PAIRING_TOPIC, VISITS_TOPIC, NOTIFY_TOPIC)


@dataclass
class RebuildResult:
    applied: int = 0
    skipped: int = 0  # unknown types, broken messages, events whose dependency never came
    seconds: float = 0.0
    positions: dict[str, int] = field(default_factory=dict)
    helpers: str = "none"  # how the helper processes were started: "fork", "spawn", or "none"
    # Where the seconds went: "tables", "build" (each share: "share N" from the start to
    # its end), "finish" (the tables' other indexes and statistics), "switch" (what the
    # benchmark prints).
    phases: dict[str, float] = field(default_factory=dict)

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
            model: Any = getattr(envelope.data, "model", type(envelope.data))  # Facts name their model
            statement = STATEMENTS.get(model)
            if statement is not None:
                try:
                    sql, args = statement(envelope)
                except (AttributeError, TypeError, ValueError):  # wants more than the facts
                    sql, args = statement(decode(record.headers, record.key, record.value or b""))
                groups.setdefault(sql, []).append(args)
                continue
            handler = HANDLERS.get(model)
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
    """One fetch's steps into the build tables (the connection's search path names them
    first), in the caller's transaction. A handler whose dependency never came is skipped
    (its savepoint rolled back) and the batch commits."""
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
_FETCH_RECORDS = 20_000  # per fetch, all partitions together: one transaction each (~10 round trips)
_QUEUED_FETCHES = 2  # decoded fetches waiting for the writer: reading overlaps writing
_CLAIMED_AT_ONCE = 3  # partitions a process reads side by side (more per fetch; fewer left to the slow)

Plan = list[tuple[str, int, int]]  # (topic, partition, end offset), the largest first


class _Claims:
    """The plan's partitions handed out one at a time to whichever process asks first, the
    largest first: a process that started late (a spawned one imports everything again,
    seconds on a busy machine) or reads slowly takes fewer, and the last ones are small.
    Every fact's events share a partition (keyed by the child), so whoever reads a partition
    applies all of them in order. `counter` is a multiprocessing Value shared by the processes."""

    def __init__(self, plan: Plan, counter: Any) -> None:
        self.plan, self.counter = plan, counter

    def next(self) -> tuple[TopicPartition, int] | None:
        with self.counter.get_lock():
            index = self.counter.value
            self.counter.value = index + 1
        if index >= len(self.plan):
            return None
        topic, number, end = self.plan[index]
        return TopicPartition(topic, number), end


async def _read_until(consumer: AIOKafkaConsumer, conn: asyncpg.Connection, ends: dict[TopicPartition, int],
                      result: RebuildResult, *, in_transaction: bool = False, claims: _Claims | None = None) -> None:
    """Applies every record before `ends`, and with `claims` those of the partitions it
    claims (paused in the consumer until then) while it reads fewer than _CLAIMED_AT_ONCE.
    Through `conn`, whose search path names the build tables first: a transaction per
    fetch, or all in the caller's (`in_transaction`).

    Two tasks: the reader fetches and decodes while the writer waits on the database with
    the fetch before, so Kafka, Python and PostgreSQL work at the same time."""
    queue: asyncio.Queue[list[Step] | None] = asyncio.Queue(maxsize=_QUEUED_FETCHES)

    async def claim(remaining: set[TopicPartition]) -> None:
        while claims is not None and len(remaining) < _CLAIMED_AT_ONCE and (claimed := claims.next()):
            tp, ends[tp] = claimed
            await consumer.seek_to_beginning(tp)
            consumer.resume(tp)
            if await consumer.position(tp) < ends[tp]:
                remaining.add(tp)

    async def read() -> None:
        remaining = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
        await claim(remaining)
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=_FETCH_RECORDS)
            records = [r for tp, rs in batches.items()
                       for r in (rs if not rs or rs[-1].offset < ends[tp] else [r for r in rs if r.offset < ends[tp]])]
            if records:
                await queue.put(_prepare(records, result))
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
            await claim(remaining)
        await queue.put(None)

    async def write() -> None:
        while (steps := await queue.get()) is not None:
            if in_transaction:
                await _apply(conn, steps, result)
            else:
                async with conn.transaction():
                    await _apply(conn, steps, result)

    async with asyncio.TaskGroup() as group:
        group.create_task(read())
        group.create_task(write())


async def _finish_build_tables(pool: asyncpg.Pool, deferred_indexes: dict[str, list[str]]) -> None:
    """Every build table's other indexes and statistics, table by table side by side on the
    pool's connections (one core each), the largest first so that the last to end is small."""
    async with pool.acquire() as conn:
        tables = await store_rebuild.build_tables_largest_first(conn)

    async def finish(table: str) -> None:
        async with pool.acquire() as conn:
            await store_rebuild.finish_build_table(conn, table, deferred_indexes[table])

    async with asyncio.TaskGroup() as group:
        for table in tables:
            group.create_task(finish(table))


def _lap(phases: dict[str, float]) -> Callable[[str], None]:
    """Records in `phases` the seconds since the previous lap, under the name given."""
    last = time.monotonic()

    def lap(name: str) -> None:
        nonlocal last
        phases[name], last = time.monotonic() - last, time.monotonic()

    return lap


def _consumer(settings: ReportsSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                            enable_auto_commit=False, auto_offset_reset="earliest",
                            client_id="shouhu-reports-rebuild", max_partition_fetch_bytes=8 * 1024 * 1024,
                            **kafka_security(settings))


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector kept from walking the same objects again and again
    while a share is built, then put back as it was.

    A fetch's records, facts and rows (some 20 objects a record, 20,000 records a fetch)
    live until the fetch is written. With the default threshold (a collection of the young
    every 700 allocations) they survive into the older generations, and each full collection
    walks every object there, the imported modules' hundreds of thousands included. Frozen,
    the objects present now (the imports) are left out of every collection; with a young
    threshold of 50,000 the young are collected a seventieth as often. The build's objects
    are freed by reference counting as each fetch is written, so memory stays as it was; the
    few cycles (asyncio's) are still collected, later. Measured on 1,000,000 events, in all
    the rebuild's processes: 13.7–14.1 µs of CPU an event down to 12.3–12.5 (the bare
    consumer's 4.1 on the same machine)."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(_YOUNG_COLLECTED_EVERY, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


_YOUNG_COLLECTED_EVERY = 50_000  # allocations; Python's default is 700


async def _build_share(settings: ReportsSettings, claims: _Claims) -> RebuildResult:
    """One process's share: the partitions it claims, each from its first offset to its end."""
    with _fewer_collections():
        return await _build_share_collected_less(settings, claims)


async def _build_share_collected_less(settings: ReportsSettings, claims: _Claims) -> RebuildResult:
    result, began = RebuildResult(), time.time()
    pool = await create_pool(settings, max_size=1)
    consumer = _consumer(settings)
    await consumer.start()
    try:
        every = [TopicPartition(topic, number) for topic, number, _ in claims.plan]
        consumer.assign(every)
        consumer.pause(*every)  # until claimed: the fetcher reads only what this process applies
        async with pool.acquire() as conn:  # one for the share: a round trip less per fetch (no reset)
            await store_rebuild.write_to_build_tables(conn, session=True)
            await _read_until(consumer, conn, {}, result, claims=claims)
    finally:
        await consumer.stop()
        await pool.close()
    result.phases = {"began": began, "ended": time.time()}
    return result


_shared_counter: Any = None  # in a helper process: the claims' counter, given when it started


def _start_helper(counter: Any) -> None:
    """First in each helper process: the claims' counter kept, and the signals' handlers as
    a new process has them. A forked helper inherits the caller's, which act on the
    caller's event loop (a copy here that never runs): on Ctrl-C it would build on while
    the caller waits for it; with the defaults its own asyncio.run is interrupted."""
    global _shared_counter
    _shared_counter = counter
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)


def _build_share_in_process(settings: ReportsSettings, plan: Plan) -> tuple[int, int, dict[str, float]]:
    result = asyncio.run(_build_share(settings, _Claims(plan, _shared_counter)))
    return result.applied, result.skipped, result.phases


def _ready() -> None:
    """Run first in each helper process, so that a spawned one imports everything while the
    tables are made."""


def _start_method() -> str:
    """Forked, a helper starts with everything imported and builds at once; spawned, it
    imports everything again first (0.5–0.8 s of a core, while this process builds alone:
    a sixth of a 350,000-event rebuild). Forked only while this process has no other thread
    (as `shouhu reports rebuild` has none): a lock another thread held at the fork would
    stay held in the helper for ever."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


@asynccontextmanager
async def _helpers(processes: int, result: RebuildResult) -> AsyncIterator[tuple[ProcessPoolExecutor | None, Any, int]]:
    """`processes - 1` helper processes (this one is the first), started at once, and the
    counter they share with this one."""
    method = _start_method()
    context = multiprocessing.get_context(method)
    counter = context.Value("i", 0)
    if processes <= 1:
        yield None, counter, 0
        return
    result.helpers = method
    executor = ProcessPoolExecutor(processes - 1, mp_context=context, initializer=_start_helper,
                                   initargs=(counter,))
    try:
        for _ in range(processes - 1):
            executor.submit(_ready)
        yield executor, counter, processes - 1
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


async def _build_in_parallel(settings: ReportsSettings, ends: dict[TopicPartition, int],
                             helpers: tuple[ProcessPoolExecutor | None, Any, int], result: RebuildResult) -> None:
    """This process and the helpers read the partitions they claim, decoding and writing side
    by side (decoding is CPU work, one core each)."""
    began = time.time()
    executor, counter, helping = helpers
    plan = [(tp.topic, tp.partition, end) for tp, end in sorted(ends.items(), key=lambda item: -item[1]) if end > 0]
    own = _build_share(settings, _Claims(plan, counter))
    if executor is None:
        done: list[Any] = [await own]
    else:
        loop = asyncio.get_running_loop()
        done = list(await asyncio.gather(own, *(loop.run_in_executor(executor, _build_share_in_process, settings, plan)
                                                for _ in range(helping))))
    for number, counted in enumerate(done):
        applied, skipped, phases = (counted.applied, counted.skipped, counted.phases) \
            if isinstance(counted, RebuildResult) else counted
        result.applied += applied
        result.skipped += skipped
        result.phases[f"share {number} began"] = phases["began"] - began
        result.phases[f"share {number} ended"] = phases["ended"] - began


async def rebuild(settings: ReportsSettings, *, processes: int | None = None) -> RebuildResult:
    """`processes`: how many build the copies side by side (default: one per core)."""
    result = RebuildResult()
    started = time.monotonic()
    lap = _lap(result.phases)
    processes = processes or os.cpu_count() or 1
    async with _helpers(processes, result) as helpers:
        pool = await create_pool(settings, max_size=max(2, processes))  # the finish: a table a core
        consumer = _consumer(settings)
        await consumer.start()
        try:
            partitions = await topic_partitions(consumer, [settings.kafka_topic_prefix + topic for topic in TOPICS])
            consumer.assign(partitions)
            async with pool.acquire() as conn:
                deferred_indexes = await store_rebuild.create_build_tables(conn)
            first_ends = await consumer.end_offsets(partitions)
            lap("tables")
            await _build_in_parallel(settings, first_ends, helpers, result)
            lap("build")
            log.info("rebuild.caught_up", applied=result.applied)
            await _finish_build_tables(pool, deferred_indexes)
            lap("finish")
            for tp, end in first_ends.items():
                consumer.seek(tp, end)
            async with pool.acquire() as conn, conn.transaction():
                await store_rebuild.lock_answering_tables(conn)
                ends = await consumer.end_offsets(partitions)
                await store_rebuild.write_to_build_tables(conn)
                await _read_until(consumer, conn, ends, result, in_transaction=True)
                await store_rebuild.switch(conn)
            lap("switch")
            result.positions = {f"{tp.topic}:{tp.partition}": end for tp, end in ends.items()}
        finally:
            await consumer.stop()
            await pool.close()
    result.seconds = time.monotonic() - started
    log.info("rebuild.switched", applied=result.applied, skipped=result.skipped, seconds=round(result.seconds, 2),
             helpers=result.helpers)
    return result

"""The transactional outbox: an event is committed with the state change that caused it,
and a relay publishes it to Kafka afterwards.

`add(conn, event)` joins the caller's transaction, so either both the change and its
event commit or neither does. The relay claims rows by *status* ('pending'), never by
"ids above the last one seen": sequence order is not commit order, and a transaction
that took id 7 but commits after id 8 was published would otherwise be skipped for ever.

One relay per service publishes at a time (a session advisory lock); standby replicas
wait to take over. That keeps one child's events in commit order on their partition.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from datetime import datetime
from typing import Any, Sequence
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from shared import clock
from shared.contracts import Event, encode
from shared.db import connect
from shared.kafka_security import kafka_security
from shared.logging import get_logger
from shared.resilience import OutageLog
from shared.settings import ServiceSettings
from shared.worker_metrics import WorkerMetrics

log = get_logger("shared.outbox")

_NOTIFY_CHANNEL = "outbox_pending"


async def add(conn: asyncpg.Connection, event: Event, *, event_id: UUID | None = None,
              time: datetime | None = None) -> UUID:
    """Stores `event` in the outbox inside the caller's open transaction."""
    encoded = encode(event, event_id=event_id, time=time)
    await conn.execute(
        """INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        encoded.event_id, encoded.topic, encoded.key, event.cloudevent_type(),
        encoded.headers, json.loads(encoded.value),
    )
    return encoded.event_id


# event_id, topic, message key, CloudEvents type, headers (JSON text), payload (JSON text)
OutboxRow = tuple[UUID, str, str, str, str, str]


def encode_rows(events: Sequence[Event], *, time: datetime | None = None) -> list[OutboxRow]:
    """Outbox rows for many events, without I/O (so bulk work can build them off the event
    loop). Each event type is encoded once through the CloudEvents SDK to learn the
    envelope; the other events reuse it with their own id, subject and time, which gives
    the same headers and payload as `add` without paying for the SDK per event."""
    # Per event type: the JSON of the headers every event of that type shares, without its
    # closing brace; each event appends its own id, subject and time (jsonb keeps no key order).
    shared_headers: dict[str, str] = {}
    rows: list[OutboxRow] = []
    stamp = json.dumps((time or clock.from_env().now()).isoformat())
    for event in events:
        event_type = event.cloudevent_type()
        common = shared_headers.get(event_type)
        if common is None:
            headers = {name: value for name, value in encode(event).headers.items()
                       if name not in ("ce_id", "ce_subject", "ce_time")}
            common = shared_headers[event_type] = json.dumps(headers)[:-1]
        event_id = uuid4()
        key = event.partition_key()
        headers_json = f'{common}, "ce_id": "{event_id}", "ce_subject": {json.dumps(key)}, "ce_time": {stamp}}}'
        rows.append((event_id, event.topic, key, event_type, headers_json, event.model_dump_json()))
    return rows


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_field(value: object) -> str:
    # COPY's text format: \N is NULL; backslash, tab, newline and CR are escaped.
    return "\\N" if value is None else _escape(str(value))


def copy_line(row: OutboxRow) -> str:
    """One outbox row as a line of COPY's text format (bulk work builds these off the event
    loop, even in another process)."""
    return "\t".join(_copy_field(value) for value in row) + "\n"


async def add_copy_lines(conn: asyncpg.Connection, lines: Sequence[str]) -> None:
    """Stores `copy_line` lines inside the caller's open transaction, in their order, with
    one COPY (no client-side codecs involved; the notify trigger fires once)."""
    if not lines:
        return
    await conn.copy_to_table(
        "outbox", source=io.BytesIO("".join(lines).encode()), format="text",
        columns=["event_id", "topic", "message_key", "event_type", "headers", "payload"])


async def add_rows(conn: asyncpg.Connection, rows: Sequence[OutboxRow]) -> None:
    """Stores rows from `encode_rows` inside the caller's open transaction, in their order."""
    await add_copy_lines(conn, [copy_line(row) for row in rows])


async def add_many(conn: asyncpg.Connection, events: Sequence[Event], *,
                   time: datetime | None = None) -> list[UUID]:
    """Stores many events in the outbox inside the caller's open transaction, in order,
    with the same rows `add` would write (for bulk work: a sheet of 100,000 children)."""
    rows = encode_rows(events, time=time)
    await add_rows(conn, rows)
    return [row[0] for row in rows]


def create_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """Idempotent producer, acks from all in-sync replicas: no duplicates from retries."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        **kafka_security(settings),
        client_id=f"shouhu-{settings.service_name}-relay",
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=settings.kafka_request_timeout_ms,
    )


class OutboxRelay:
    """Publishes pending outbox rows. Run `await relay.run()` as a task; cancel to stop."""

    _LOCK_KEY = 0x4F55_5442  # "OUTB": one lock per database, so one per service
    _MAX_FAILURES_PER_PRODUCER = 5

    def __init__(self, settings: ServiceSettings, pool: asyncpg.Pool) -> None:
        self._settings = settings
        self._pool = pool
        self._wake = asyncio.Event()
        self.published_total = 0
        self.name = "outbox-relay"
        self.last_progress_monotonic = time.monotonic()  # read by the worker's heartbeat
        # One log line when Kafka goes away, one when it is back (not one per attempt).
        self._kafka = OutageLog("outbox.kafka")
        # Counted here, served by the worker (which hands in its own when it starts).
        self.metrics = WorkerMetrics(settings.service_name)

    async def run(self) -> None:
        """Publishes for ever. If the database goes away this raises, and the worker's
        supervisor (shared/resilience.py) starts it again after a capped backoff."""
        listener = await connect(self._settings)
        try:
            await self._wait_for_leadership(listener)
            await listener.add_listener(_NOTIFY_CHANNEL, self._on_notify)
            while True:
                # A producer that keeps failing is replaced rather than trusted to recover.
                producer = create_producer(self._settings)
                try:
                    await asyncio.wait_for(producer.start(), self._settings.kafka_request_timeout_ms / 1000)
                    await self._publish_loop(producer, listener)
                except (asyncio.TimeoutError, KafkaError) as exc:  # Kafka away: wait, then a new producer
                    self.metrics.relay_failed(exc)
                    await asyncio.sleep(self._kafka.failed(exc))
                finally:
                    await producer.stop()
                self.last_progress_monotonic = time.monotonic()  # waiting for Kafka is not a stall
        finally:
            await listener.close()

    async def _wait_for_leadership(self, listener: asyncpg.Connection) -> None:
        while not await listener.fetchval("SELECT pg_try_advisory_lock($1)", self._LOCK_KEY):
            self.last_progress_monotonic = time.monotonic()  # a standby waiting is alive
            await asyncio.sleep(self._settings.relay_poll_interval_s * 5)
        log.info("outbox.relay_leader")

    def _on_notify(self, *_args: Any) -> None:
        self._wake.set()

    async def _publish_loop(self, producer: AIOKafkaProducer, listener: asyncpg.Connection) -> None:
        failures = 0
        while failures < self._MAX_FAILURES_PER_PRODUCER:
            self.last_progress_monotonic = time.monotonic()
            self._wake.clear()
            try:
                published = await self.publish_pending(producer)
                failures = 0
                self._kafka.ok()
            except (asyncio.TimeoutError, OSError, KafkaError) as exc:
                self.metrics.relay_failed(exc)
                failures += 1
                await asyncio.sleep(min(self._kafka.failed(exc), 5.0))
                continue
            if published == self._settings.relay_batch_size:
                continue  # more is waiting; do not sleep
            try:
                # Fallback poll: a lost notification delays an event, never loses it.
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
                # lands as the wait completes, and the relay would then never stop.
                async with asyncio.timeout(self._settings.relay_poll_interval_s):
                    await self._wake.wait()
            except TimeoutError:
                # Quiet period: make sure the connection holding the leader lock is alive.
                await listener.fetchval("SELECT 1")

    async def publish_pending(self, producer: AIOKafkaProducer) -> int:
        """Claims one batch, publishes it, marks it published. Returns how many."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                rows = await conn.fetch(
                    """SELECT id, topic, message_key, headers, payload::text AS payload
                         FROM outbox WHERE status = 'pending'
                        ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",
                    self._settings.relay_batch_size,
                )
                if not rows:
                    return 0
                # On failure the transaction rolls back and the rows stay pending for the
                # next pass. A duplicate publish is possible after a timeout; consumers'
                # inboxes absorb it.
                await self._send_all(producer, rows)
                await conn.execute(
                    "UPDATE outbox SET status = 'published', published_at = now(), attempts = attempts + 1"
                    " WHERE id = ANY($1::bigint[])",
                    [row["id"] for row in rows],
                )
        self.published_total += len(rows)
        self.metrics.relay_published(len(rows))
        return len(rows)

    async def _send_all(self, producer: AIOKafkaProducer, rows: list[asyncpg.Record]) -> None:
        """Sends rows as one batch per partition (send_batch): a fraction of the Python work
        of one send() per row. Rows keep their claim (id) order within each partition, and
        the partition is the one send() would choose for the key, so one child's events stay
        on one partition, in order."""
        open_batches: dict[tuple[str, int], Any] = {}
        futures = []
        partitions_of: dict[str, list[int]] = {}
        for row in rows:
            topic = self._settings.kafka_topic_prefix + row["topic"]
            if topic not in partitions_of:
                partitions_of[topic] = sorted(await producer.partitions_for(topic))
            key = row["message_key"].encode()
            partition = DefaultPartitioner()(key, partitions_of[topic], partitions_of[topic])
            message = {"key": key, "value": row["payload"].encode(), "timestamp": None,
                       "headers": [(name, value.encode()) for name, value in row["headers"].items()]}
            batch = open_batches.get((topic, partition))
            if batch is None or batch.append(**message) is None:
                if batch is not None:  # full: send it and start the next one
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                batch = open_batches[(topic, partition)] = producer.create_batch()
                if batch.append(**message) is None:
                    raise ValueError("an outbox event is larger than the producer's batch size")
        for (topic, partition), batch in open_batches.items():
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.wait_for(asyncio.gather(*futures),
                               timeout=self._settings.kafka_request_timeout_ms / 1000 * 2)


async def pending_age_seconds(conn: asyncpg.Connection) -> float:
    """Age of the oldest unpublished event, 0 when none: the relay's health in one number."""
    age = await conn.fetchval(
        "SELECT EXTRACT(EPOCH FROM now() - min(created_at)) FROM outbox WHERE status = 'pending'"
    )
    return float(age or 0.0)


async def pending_count(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'"))

"""The consumer loop: Kafka → handler → database, each event applied exactly once.

- The handler's effect and an inbox row `(consumer, event_id)` commit in one transaction;
  a redelivered event finds its inbox row and does nothing. A partition's batch is first
  tried in one transaction (one commit instead of one per record); on any failure it is
  rolled back and applied record by record on the careful path below.
- Offsets are committed manually, only after the database commit. A crash in between
  means redelivery, which the inbox absorbs: nothing lost, nothing doubled.
- A handler that keeps failing is retried a bounded number of times, then the record
  goes to `dead_letters` (kind 'poison') with everything needed to replay it, and the
  partition moves on.
- A handler that raises `DependencyMissing` (a visit before its child) is retried; if
  the dependency still has not arrived the record is parked (kind 'waiting') and
  retried on a schedule until it applies. It is never dropped.
- Database outages are not the event's fault: they are retried without limit and the
  offset is not committed, so nothing is dead-lettered because PostgreSQL restarted.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError

from shared.contracts import Envelope, Event, decode
from shared.contracts.envelope import UnknownEventType
from shared.kafka_security import kafka_security
from shared.logging import get_logger
from shared.resilience import UNAVAILABLE, OutageLog
from shared.settings import ServiceSettings
from shared.worker_metrics import WorkerMetrics

log = get_logger("shared.consumer")

Handler = Callable[[asyncpg.Connection, Envelope[Any]], Awaitable[None]]

# The database away (refused, restarting, a connection killed under the statement) or a
# conflict between transactions: never the event's fault, so never counted against it.
_TRANSIENT = (asyncpg.exceptions.SerializationError, asyncpg.exceptions.DeadlockDetectedError,
              *(kind for kind in UNAVAILABLE if kind is not KafkaError))
_MAX_WAITING_ATTEMPTS = 60


class DependencyMissing(Exception):
    """Raised by a handler whose event depends on one this consumer has not seen yet."""


@dataclass(frozen=True)
class RawRecord:
    """What the loop needs of a Kafka record; also rebuilt from a dead letter to replay it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: list[tuple[str, bytes]]
    value: bytes

    @classmethod
    def from_kafka(cls, record: ConsumerRecord) -> "RawRecord":
        return cls(record.topic, record.partition, record.offset, record.key,
                   list(record.headers or ()), record.value or b"")


def describe_failure(exc: BaseException) -> str:
    """A reason safe to store: the error's kind and field paths, never the input values."""
    if isinstance(exc, ValidationError):
        fields = ", ".join(".".join(map(str, e["loc"])) + f" ({e['type']})" for e in exc.errors())
        return f"invalid event data: {fields}"
    return type(exc).__name__


class Consumer:
    """One named consumer: a Kafka group, its topics and an explicit handler map."""

    def __init__(self, settings: ServiceSettings, pool: asyncpg.Pool, *, name: str,
                 topics: tuple[str, ...], handlers: Mapping[type[Event], Handler]) -> None:
        self._settings = settings
        self._pool = pool
        self.name = name
        self._topics = topics
        self._handlers = dict(handlers)
        self._next_waiting_scan = 0.0
        self.processed_total = 0
        self.last_progress_monotonic = time.monotonic()  # read by the worker's heartbeat
        # Counted here, served by the worker (which hands in its own when it starts).
        self.metrics = WorkerMetrics(settings.service_name)

    @property
    def kafka_group(self) -> str:
        return f"{self._settings.group_id}.{self.name}"

    @property
    def handled_events(self) -> frozenset[type[Event]]:
        """The events this consumer applies: those it has a handler for, on the topics it reads."""
        return frozenset(kind for kind in self._handlers if kind.topic in self._topics)

    @property
    def kafka_topics(self) -> tuple[str, ...]:
        return tuple(self._settings.kafka_topic_prefix + topic for topic in self._topics)

    @property
    def topics(self) -> tuple[str, ...]:
        return self._topics

    def handled_on(self, topic: str) -> frozenset[str]:
        """The event types this consumer applies from `topic` (the others there it skips)."""
        return frozenset(event.__name__ for event in self._handlers if event.topic == topic)

    # -- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        # A slow first group join (a fresh broker, a loaded machine) or Kafka away: the
        # client is replaced and started again after a capped backoff, for as long as it takes.
        kafka = OutageLog("consumer.kafka", consumer=self.name)
        while True:
            consumer = self._create_kafka_consumer()
            try:
                await asyncio.wait_for(consumer.start(), self._settings.kafka_request_timeout_ms / 1000)
                kafka.ok()
                await self._poll_loop(consumer)
            except (KafkaError, asyncio.TimeoutError) as exc:
                # A stuck or broken client is replaced, not trusted to recover by itself.
                delay = kafka.failed(exc)
            else:
                delay = 1.0
            finally:
                await consumer.stop()
            self.last_progress_monotonic = time.monotonic()  # waiting for Kafka is not a stall
            await asyncio.sleep(delay)

    def _create_kafka_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self.kafka_topics,
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            **kafka_security(self._settings),
            group_id=self.kafka_group,
            client_id=f"shouhu-{self._settings.service_name}-{self.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._settings.consumer_max_batch,
            request_timeout_ms=self._settings.kafka_request_timeout_ms + 5000,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=3_000,
            # A topic created after subscribing is noticed at the next refresh; keep it short.
            metadata_max_age_ms=10_000,
        )

    async def _poll_loop(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=self._settings.consumer_max_batch)
            self.last_progress_monotonic = time.monotonic()
            if batches:
                await self._process_poll(consumer, batches)
            if time.monotonic() >= self._next_waiting_scan:
                await self.retry_waiting()
                self._next_waiting_scan = time.monotonic() + self._settings.consumer_parked_retry_interval_s

    async def _process_poll(self, consumer: AIOKafkaConsumer,
                            batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Applies every partition's records (each partition's batch in its own transaction),
        then commits all their offsets in one request and records progress once: a poll
        costs one Kafka round trip for offsets, not one per partition."""
        for records in batches.values():
            raw_records = [RawRecord.from_kafka(record) for record in records]
            if not await self._apply_batch(raw_records):
                for raw in raw_records:
                    await self.process(raw)
        if self._settings.debug_pause_before_offset_commit_s:
            log.info("consumer.db_committed", consumer=self.name)
            await asyncio.sleep(self._settings.debug_pause_before_offset_commit_s)
        offsets = {partition: records[-1].offset + 1 for partition, records in batches.items()}
        try:
            await consumer.commit(offsets)
        except CommitFailedError:
            # Rebalanced away mid-poll: the new owner redelivers; the inbox makes that safe.
            log.warning("consumer.commit_failed", consumer=self.name)
            return
        await self._record_progress({partition: (offset, consumer.highwater(partition))
                                     for partition, offset in offsets.items()})

    # -- a whole batch, the fast path ---------------------------------------------------------

    async def _apply_batch(self, records: list[RawRecord]) -> bool:
        """Applies a partition's batch in ONE transaction (one commit, one disk sync, instead
        of one per record). Any trouble at all — a record that does not decode, a handler
        error, a missing dependency, the database — rolls the whole batch back and returns
        False, and the caller applies the records one by one on the careful path, with its
        retries and dead letters. The effects are the same either way, in the same order."""
        if len(records) < 2:
            return False
        envelopes = []
        try:
            for record in records:
                envelope = decode(record.headers, record.key, record.value)
                if type(envelope.data) in self._handlers:
                    envelopes.append(envelope)
        except (UnknownEventType, ValueError):
            return False
        applied = 0
        try:
            async with self._pool.acquire() as conn:
                async with conn.transaction():
                    for envelope in envelopes:
                        first_time = await conn.fetchval(
                            """INSERT INTO inbox (consumer, event_id, event_type) VALUES ($1, $2, $3)
                               ON CONFLICT DO NOTHING RETURNING true""",
                            self.name, envelope.id, envelope.type,
                        )
                        if first_time:
                            await self._handlers[type(envelope.data)](conn, envelope)
                            applied += 1
        except Exception as exc:  # every failure is handled again, record by record
            log.info("consumer.batch_fallback", consumer=self.name, records=len(records), error=type(exc).__name__)
            self.metrics.retried(self.name, "batch_fallback")
            return False
        self.processed_total += applied
        self.metrics.applied(self.name, applied)
        return True

    # -- one record -----------------------------------------------------------------------

    async def process(self, record: RawRecord) -> None:
        """Applies one record exactly once, or dead-letters it. Returns when that is durable."""
        try:
            envelope = decode(record.headers, record.key, record.value)
        except UnknownEventType:
            return  # an event this consumer has no use for
        except ValueError as exc:  # includes pydantic's ValidationError
            await self._dead_letter(record, None, "poison", describe_failure(exc), attempts=1)
            return
        handler = self._handlers.get(type(envelope.data))
        if handler is None:
            return
        attempt = 0
        database = OutageLog("consumer.database", consumer=self.name)
        while True:
            attempt += 1
            try:
                if await self._apply(handler, envelope):
                    self.metrics.applied(self.name)
                self.processed_total += 1
                database.ok()
                return
            except _TRANSIENT as exc:
                self.metrics.retried(self.name, "database")
                await asyncio.sleep(database.failed(exc))
                self.last_progress_monotonic = time.monotonic()  # waiting, not stalled
                attempt = 0  # an outage is not the event's fault; do not count it
            except DependencyMissing as exc:
                if attempt >= self._settings.consumer_max_attempts:
                    await self._dead_letter(record, envelope, "waiting", f"dependency missing: {exc}", attempt)
                    return
                self.metrics.retried(self.name, "dependency_missing")
                await asyncio.sleep(self._settings.consumer_retry_base_s * 2 ** attempt)
            except Exception as exc:
                log.warning("consumer.handler_failed", consumer=self.name, event_id=str(envelope.id),
                            error=type(exc).__name__, attempt=attempt)
                if attempt >= self._settings.consumer_max_attempts:
                    await self._dead_letter(record, envelope, "poison", describe_failure(exc), attempt)
                    return
                self.metrics.retried(self.name, "handler_error")
                await asyncio.sleep(self._settings.consumer_retry_base_s * 2 ** attempt)

    async def _apply(self, handler: Handler, envelope: Envelope[Any], *, dead_letter_id: int | None = None) -> bool:
        """Effect + inbox row in one transaction. False when the event was already applied."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                if dead_letter_id is not None:
                    await conn.execute(
                        "UPDATE dead_letters SET status = 'resolved', resolved_at = now() WHERE id = $1",
                        dead_letter_id)
                first_time = await conn.fetchval(
                    """INSERT INTO inbox (consumer, event_id, event_type) VALUES ($1, $2, $3)
                       ON CONFLICT DO NOTHING RETURNING true""",
                    self.name, envelope.id, envelope.type,
                )
                if not first_time:
                    return False
                await handler(conn, envelope)
                return True

    async def _dead_letter(self, record: RawRecord, envelope: Envelope[Any] | None, kind: str, reason: str,
                           attempts: int) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO dead_letters (consumer, event_id, event_type, topic, kafka_partition,
                       kafka_offset, message_key, headers, payload, kind, reason, attempts, next_attempt_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                           CASE WHEN $10 = 'waiting' THEN $14::timestamptz + make_interval(secs => $13) END)
                   ON CONFLICT (consumer, topic, kafka_partition, kafka_offset) DO NOTHING""",
                self.name, envelope.id if envelope else None, envelope.type if envelope else None,
                record.topic, record.partition, record.offset,
                record.key.decode(errors="replace") if record.key else None,
                {name: value.decode(errors="replace") for name, value in record.headers},
                record.value, kind, reason, attempts, self._settings.consumer_parked_retry_interval_s,
                self._settings.clock.now(),  # parked times are compared with the same clock
            )
        self.metrics.dead_lettered(self.name, kind)
        log.warning("consumer.dead_lettered", consumer=self.name, kind=kind, reason=reason,
                    topic=record.topic, partition=record.partition, offset=record.offset)

    # -- parked and dead-lettered records ------------------------------------------------

    async def retry_waiting(self) -> int:
        """Retries parked records whose time has come. Returns how many applied."""
        async with self._pool.acquire() as conn:
            due = await conn.fetch(
                """SELECT id FROM dead_letters
                    WHERE consumer = $1 AND kind = 'waiting' AND status = 'open' AND next_attempt_at <= $2
                    ORDER BY kafka_offset LIMIT 100""",
                self.name, self._settings.clock.now(),
            )
        applied = 0
        for row in due:
            applied += await self.replay(row["id"])
        return applied

    async def replay(self, dead_letter_id: int) -> int:
        """Runs a dead letter through its handler again. 1 if it applied (or had already)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM dead_letters WHERE id = $1 AND consumer = $2 AND status = 'open'",
                dead_letter_id, self.name)
        if row is None:
            return 0
        headers = [(name, value.encode()) for name, value in row["headers"].items()]
        key = row["message_key"].encode() if row["message_key"] else None
        try:
            envelope = decode(headers, key, row["payload"])
            handler = self._handlers[type(envelope.data)]
            if await self._apply(handler, envelope, dead_letter_id=dead_letter_id):
                self.metrics.applied(self.name)
        except _TRANSIENT:
            raise
        except Exception as exc:
            await self._reschedule(row, exc)
            return 0
        log.info("consumer.dead_letter_applied", consumer=self.name, dead_letter_id=dead_letter_id)
        return 1

    async def _reschedule(self, row: asyncpg.Record, exc: Exception) -> None:
        attempts = row["attempts"] + 1
        still_waiting = isinstance(exc, DependencyMissing) and attempts < _MAX_WAITING_ATTEMPTS
        delay = min(self._settings.consumer_parked_retry_interval_s * 2 ** min(attempts, 10), 3600)
        async with self._pool.acquire() as conn:
            await conn.execute(
                """UPDATE dead_letters SET attempts = $2, kind = $3, reason = $4,
                          next_attempt_at = CASE WHEN $3 = 'waiting' THEN $6::timestamptz + make_interval(secs => $5) END
                    WHERE id = $1""",
                row["id"], attempts, "waiting" if still_waiting else "poison",
                describe_failure(exc) if not isinstance(exc, DependencyMissing) else f"dependency missing: {exc}",
                delay, self._settings.clock.now(),
            )

    async def _record_progress(self, progress: dict[TopicPartition, tuple[int, int | None]]) -> None:
        async with self._pool.acquire() as conn:
            await conn.executemany(
                """INSERT INTO consumer_progress (consumer, topic, kafka_partition, committed_offset, end_offset)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (consumer, topic, kafka_partition) DO UPDATE
                   SET committed_offset = EXCLUDED.committed_offset, end_offset = EXCLUDED.end_offset,
                       updated_at = now()""",
                [(self.name, partition.topic, partition.partition, committed,
                  end if end is not None else committed) for partition, (committed, end) in progress.items()],
            )


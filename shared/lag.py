"""Consumer lag as the broker sees it, and how old the figures are.

Each worker asks Kafka every `lag_sample_interval_s` for its consumer groups' committed
offsets and every partition's end offset. The difference is the lag, whatever the consumer
loop itself is doing (a loop wedged on one record lets the lag grow, visibly). Each sample
sets the worker's metrics and is written to `consumer_progress` with the database's time,
even when nothing moved: a fresh row means "a worker looked just now".

`progress_report` reads those rows for /readyz and `shouhu status`: per consumer its lag
and how many seconds ago it was reported. A consumer whose worker stopped reporting (dead,
or cut off from the database) is "stalled", and the total lag is then unknown (null),
never a reassuring 0.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka_security import kafka_security
from shared.resilience import UNAVAILABLE, OutageLog
from shared.settings import ServiceSettings
from shared.worker_metrics import WorkerMetrics


class LagSource(Protocol):
    """What the sampler needs of a consumer (shared.consumer.Consumer)."""

    name: str

    @property
    def kafka_group(self) -> str: ...

    @property
    def kafka_topics(self) -> tuple[str, ...]: ...


class LagSampler:
    def __init__(self, settings: ServiceSettings, pool: asyncpg.Pool, consumers: list[LagSource],
                 metrics: WorkerMetrics) -> None:
        self._settings = settings
        self._pool = pool
        self._consumers = consumers
        self._metrics = metrics

    async def run(self) -> None:
        outage = OutageLog("lag.sample")
        while True:
            admin = AIOKafkaAdminClient(bootstrap_servers=self._settings.kafka_bootstrap_servers,
                                        **kafka_security(self._settings),
                                        client_id=f"shouhu-{self._settings.service_name}-lag",
                                        request_timeout_ms=self._settings.kafka_request_timeout_ms)
            offsets = AIOKafkaConsumer(bootstrap_servers=self._settings.kafka_bootstrap_servers,
                                       **kafka_security(self._settings), enable_auto_commit=False,
                                       client_id=f"shouhu-{self._settings.service_name}-lag",
                                       request_timeout_ms=self._settings.kafka_request_timeout_ms + 5000)
            try:
                timeout_s = self._settings.kafka_request_timeout_ms / 1000
                await asyncio.wait_for(admin.start(), timeout_s)
                await asyncio.wait_for(offsets.start(), timeout_s)
                while True:
                    await asyncio.wait_for(self.sample_once(admin, offsets), timeout_s * 2)
                    outage.ok()
                    await asyncio.sleep(self._settings.lag_sample_interval_s)
            except UNAVAILABLE as exc:  # Kafka or the database away: new clients after a pause
                delay = outage.failed(exc)
            finally:
                await offsets.stop()
                await admin.close()
            await asyncio.sleep(delay)

    async def sample_once(self, admin: AIOKafkaAdminClient, offsets: AIOKafkaConsumer) -> None:
        topics = sorted({topic for consumer in self._consumers for topic in consumer.kafka_topics})
        described = await admin.describe_topics(topics)  # asked each time: partitions added since count
        partitions_of = {t["topic"]: sorted(p["partition"] for p in t["partitions"])
                         for t in described if t["error_code"] == 0}
        rows = []
        for consumer in self._consumers:
            partitions = [TopicPartition(topic, p) for topic in consumer.kafka_topics
                          for p in partitions_of.get(topic, ())]
            if not partitions:
                continue
            committed = await admin.list_consumer_group_offsets(consumer.kafka_group, partitions=partitions)
            ends = await offsets.end_offsets(partitions)
            starts = await offsets.beginning_offsets(partitions)
            for tp in partitions:
                done = committed.get(tp)
                # No committed offset yet: the group starts from the earliest retained one.
                position = done.offset if done is not None and done.offset >= 0 else starts[tp]
                self._metrics.lag(consumer.name, tp.topic, tp.partition, max(ends[tp] - position, 0))
                rows.append((consumer.name, tp.topic, tp.partition, position, ends[tp]))
            self._metrics.lag_sampled(consumer.name, time.time())
        async with self._pool.acquire() as conn:
            await conn.executemany(
                """INSERT INTO consumer_progress (consumer, topic, kafka_partition, committed_offset, end_offset)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (consumer, topic, kafka_partition) DO UPDATE
                   SET committed_offset = EXCLUDED.committed_offset, end_offset = EXCLUDED.end_offset,
                       updated_at = now()""", rows)


async def progress_report(conn: asyncpg.Connection, *, stale_after_s: float) -> dict[str, Any]:
    """Per consumer: lag, seconds since a worker last reported it, and its state ("ok" or
    "stalled"). `consumer_lag` is the total only while every consumer is fresh; otherwise
    None, with `workers` saying why ("stalled", or "never_reported" before any report)."""
    rows = await conn.fetch(
        """SELECT consumer, sum(greatest(end_offset - committed_offset, 0))::bigint AS lag,
                  EXTRACT(EPOCH FROM now() - max(updated_at))::float8 AS age_s
             FROM consumer_progress GROUP BY consumer ORDER BY consumer""")
    consumers = {row["consumer"]: {"lag": row["lag"], "reported_s_ago": round(row["age_s"], 1),
                                   "state": "stalled" if row["age_s"] > stale_after_s else "ok"}
                 for row in rows}
    if not consumers:
        workers = "never_reported"
    elif any(c["state"] == "stalled" for c in consumers.values()):
        workers = "stalled"
    else:
        workers = "ok"
    return {
        "consumer_lag": sum(c["lag"] for c in consumers.values()) if workers == "ok" else None,
        "consumer_lag_reported_s_ago": max((c["reported_s_ago"] for c in consumers.values()), default=None),
        "workers": workers,
        "consumers": consumers,
    }

"""A worker's Prometheus metrics, served on its own `/metrics` (one registry per process,
created when the worker starts, never at import).

What they count, and where it is counted:

- the relay (shared/outbox.py): events published, publish attempts that failed (by error type);
- each consumer (shared/consumer.py): events applied, retries (by reason: the database away,
  a handler error, a dependency not seen yet), dead letters (by kind);
- lag per consumer, topic and partition, sampled from the broker (shared/lag.py), with the
  time of the last sample, so a figure that stopped moving is visibly old;
- notify's deliveries per channel and outcome (services/notify/delivery.py);
- the process (CPU, memory, open files) and the database pool (size, idle, max).

Labels are names from the code (service, consumer, topic, channel, error type), never ids or
personal data.
"""

from __future__ import annotations

import asyncio
from typing import Iterable

import asyncpg
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from shared.logging import get_logger

log = get_logger("shared.worker_metrics")


class WorkerMetrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        r = self.registry
        self._published = Counter("shouhu_relay_published_events", "Outbox events published to Kafka",
                                  ["service"], registry=r)
        self._relay_failed = Counter("shouhu_relay_publish_failures", "Relay publish attempts that failed",
                                     ["service", "error"], registry=r)
        self._applied = Counter("shouhu_consumer_applied_events", "Events applied (inbox + handler committed)",
                                ["service", "consumer"], registry=r)
        self._retried = Counter("shouhu_consumer_retries", "Attempts to apply an event that were tried again",
                                ["service", "consumer", "reason"], registry=r)
        self._dead = Counter("shouhu_consumer_dead_lettered_events", "Events set aside in dead_letters",
                             ["service", "consumer", "kind"], registry=r)
        self._lag = Gauge("shouhu_consumer_partition_lag_messages",
                          "Messages behind on a partition, as the broker sees it (end offset - committed offset)",
                          ["service", "consumer", "topic", "partition"], registry=r)
        self._sampled = Gauge("shouhu_consumer_lag_sampled_timestamp_seconds",
                              "When the broker was last asked for this consumer's lag (Unix time)",
                              ["service", "consumer"], registry=r)
        self._deliveries = Counter("shouhu_notify_deliveries", "Delivery attempts by channel and outcome",
                                   ["service", "channel", "outcome"], registry=r)

    # -- what the loops count ---------------------------------------------------------------

    def relay_published(self, events: int) -> None:
        self._published.labels(self.service).inc(events)

    def relay_failed(self, error: BaseException) -> None:
        self._relay_failed.labels(self.service, type(error).__name__).inc()

    def applied(self, consumer: str, events: int = 1) -> None:
        if events:
            self._applied.labels(self.service, consumer).inc(events)

    def retried(self, consumer: str, reason: str) -> None:
        self._retried.labels(self.service, consumer, reason).inc()

    def dead_lettered(self, consumer: str, kind: str) -> None:
        self._dead.labels(self.service, consumer, kind).inc()

    def lag(self, consumer: str, topic: str, partition: int, messages: int) -> None:
        self._lag.labels(self.service, consumer, topic, str(partition)).set(messages)

    def lag_sampled(self, consumer: str, at_unix_s: float) -> None:
        self._sampled.labels(self.service, consumer).set(at_unix_s)

    def delivery(self, channel: str, outcome: str) -> None:
        self._deliveries.labels(self.service, channel, outcome).inc()

    # -- what the process and the pool look like ----------------------------------------------

    def watch_process_and_pool(self, pool: asyncpg.Pool) -> None:
        ProcessCollector(registry=self.registry)
        self.registry.register(PoolCollector(self.service, pool))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class PoolCollector(Collector):
    """The database pool's size, idle and maximum connections, read at scrape time."""

    def __init__(self, service: str, pool: asyncpg.Pool) -> None:
        self._service = service
        self._pool = pool

    def collect(self) -> Iterable[GaugeMetricFamily]:
        for name, help_text, value in (
                ("shouhu_db_pool_connections", "Connections the pool holds", self._pool.get_size()),
                ("shouhu_db_pool_idle_connections", "Connections idle in the pool", self._pool.get_idle_size()),
                ("shouhu_db_pool_max_connections", "The pool's maximum size", self._pool.get_max_size())):
            family = GaugeMetricFamily(name, help_text, labels=["service"])
            family.add_metric([self._service], value)
            yield family


async def serve_metrics(metrics: WorkerMetrics, host: str, port: int) -> None:
    """Answers `GET /metrics` on host:port (404 for anything else) until cancelled. A tiny
    HTTP/1.0 responder on the worker's own event loop: a worker has no web framework, and
    a thread would read the loops' state from outside their loop."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            method, path, *_ = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            if method == "GET" and path.split("?", 1)[0] == "/metrics":
                status, content_type, body = "200 OK", CONTENT_TYPE_LATEST, metrics.exposition()
            else:
                status, content_type, body = "404 Not Found", "application/json", b'{"detail":"not found"}'
            writer.write(f"HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1") + body)
            await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
            pass  # a client that did not send a request gets nothing
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    log.info("worker.metrics_serving", port=port)
    async with server:
        await server.serve_forever()

"""A service's worker process: the outbox relay and its consumers in one task group.

Each loop runs under `supervise` (shared/resilience.py): a loop that fails because
PostgreSQL or Kafka went away, or for any other reason, is started again after a capped
backoff, so the worker waits for its dependencies instead of dying, and never limps on with
half its loops dead. Starting also waits for the database and the broker. Only a
configuration error (wrong password, no such database) ends the process, non-zero.

Beside them: the lag sampler (shared/lag.py) and, with a metrics port, `/metrics`
(shared/worker_metrics.py), which every loop counts into.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any, Callable, Coroutine

import asyncpg

from shared.consumer import Consumer
from shared.db import create_pool
from shared.liveness import keep_heartbeat
from shared.housekeeping import prune_loop
from shared.lag import LagSampler
from shared.logging import get_logger
from shared.outbox import OutboxRelay
from shared.resilience import retrying, supervise
from shared.settings import ServiceSettings
from shared.topics import ensure_topics
from shared.worker_metrics import WorkerMetrics, serve_metrics

log = get_logger("shared.worker")

ConsumerFactory = Callable[[ServiceSettings, asyncpg.Pool], list[Consumer]]
# Further loops a service's worker runs beside relay and consumers (a scheduler, a
# delivery loop): named functions that start the loop (so that it can be started again),
# created when the worker starts, never at import. They count into the worker's metrics.
LoopStarter = Callable[[], Coroutine[Any, Any, None]]
BackgroundFactory = Callable[[ServiceSettings, asyncpg.Pool, WorkerMetrics], dict[str, LoopStarter]]


async def run_worker(settings: ServiceSettings, build_consumers: ConsumerFactory,
                     build_background: BackgroundFactory | None = None) -> None:
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, main_task.cancel)  # type: ignore[union-attr]
    pool: asyncpg.Pool | None = None
    try:
        pool = await retrying("worker.database", lambda: create_pool(settings))
        await retrying("worker.kafka", lambda: ensure_topics(settings))
        consumers = build_consumers(settings, pool)
        log.info("worker.started", consumers=[c.name for c in consumers])
        relay = OutboxRelay(settings, pool)
        metrics = WorkerMetrics(settings.service_name)
        metrics.watch_process_and_pool(pool)
        relay.metrics = metrics
        for consumer in consumers:
            consumer.metrics = metrics
        async with asyncio.TaskGroup() as group:
            port = settings.worker_metrics_listen_port
            if port is not None:  # a port taken is a configuration error: the worker exits
                group.create_task(serve_metrics(metrics, settings.http_host, port), name="metrics")
            if consumers:
                sampler = LagSampler(settings, pool, list(consumers), metrics)
                group.create_task(supervise("lag-sampler", sampler.run), name="lag-sampler")
            group.create_task(supervise("outbox-relay", relay.run), name="outbox-relay")
            group.create_task(keep_heartbeat(Path(settings.heartbeat_path), [relay, *consumers],
                                             stall_after_s=settings.worker_stall_after_s), name="heartbeat")
            for consumer in consumers:
                group.create_task(supervise(f"consumer-{consumer.name}", consumer.run),
                                  name=f"consumer-{consumer.name}")
            for name, start in (build_background(settings, pool, metrics) if build_background else {}).items():
                group.create_task(supervise(name, start), name=name)
            if settings.prune_interval_s > 0:
                group.create_task(supervise("prune", lambda: prune_loop(settings, pool)), name="prune")
    except asyncio.CancelledError:
        log.info("worker.stopping")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        if pool is not None:
            await pool.close()

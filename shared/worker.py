"""A service's worker process: the outbox relay and its consumers in one task group.

If any of them fails for good, the task group cancels the rest and the process exits
non-zero, so the supervisor (compose, Kubernetes, scripts/stack) restarts it: a worker
never limps on with half its loops dead.
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
from shared.logging import get_logger
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings
from shared.topics import ensure_topics

log = get_logger("shared.worker")

ConsumerFactory = Callable[[ServiceSettings, asyncpg.Pool], list[Consumer]]
# Further loops a service's worker runs beside relay and consumers (a scheduler, a
# delivery loop): named coroutines, created when the worker starts, never at import.
BackgroundFactory = Callable[[ServiceSettings, asyncpg.Pool], dict[str, Coroutine[Any, Any, None]]]


async def run_worker(settings: ServiceSettings, build_consumers: ConsumerFactory,
                     build_background: BackgroundFactory | None = None) -> None:
    pool = await create_pool(settings)
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, main_task.cancel)  # type: ignore[union-attr]
    try:
        await ensure_topics(settings)
        consumers = build_consumers(settings, pool)
        log.info("worker.started", consumers=[c.name for c in consumers])
        relay = OutboxRelay(settings, pool)
        async with asyncio.TaskGroup() as group:
            group.create_task(relay.run(), name="outbox-relay")
            group.create_task(keep_heartbeat(Path(settings.heartbeat_path), [relay, *consumers],
                                             stall_after_s=settings.worker_stall_after_s), name="heartbeat")
            for consumer in consumers:
                group.create_task(consumer.run(), name=f"consumer-{consumer.name}")
            for name, loop_coroutine in (build_background(settings, pool) if build_background else {}).items():
                group.create_task(loop_coroutine, name=name)
    except asyncio.CancelledError:
        log.info("worker.stopping")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await pool.close()

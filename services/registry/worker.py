"""The registry's worker: the outbox relay (started by shared.worker), the pairing consumer
(its own projection of who is paired with whom, which opens children's cards to their
caregivers), the bulk-import runner and the retention job (retention.py: erases records whose
retention period under the county's policy ended, daily with the housekeeping)."""

from __future__ import annotations

import asyncpg

from services.registry.handlers import PAIRING_HANDLERS
from services.registry.import_batches import default_processes
from services.registry.importer import ImportRunner
from services.registry.retention import retention_loop
from shared.consumer import Consumer
from shared.contracts.events import PAIRING_TOPIC
from shared.worker import LoopStarter
from shared.worker_metrics import WorkerMetrics
from shared.crypto import CryptoSettings, FieldCipher
from shared.settings import ServiceSettings


def build_consumers(settings: ServiceSettings, pool: asyncpg.Pool) -> list[Consumer]:
    return [Consumer(settings, pool, name="registry.pairing", topics=(PAIRING_TOPIC,), handlers=PAIRING_HANDLERS)]


def build_background(settings: ServiceSettings, pool: asyncpg.Pool, metrics: WorkerMetrics) -> dict[str, LoopStarter]:
    # Worker processes validate and encrypt import batches; the worker's own event loop
    # stays free for the relay and the database.
    processes = getattr(settings, "import_processes", None)
    runner = ImportRunner(pool, FieldCipher.from_settings(CryptoSettings()),
                          processes=default_processes() if processes is None else processes,
                          clock=settings.clock)
    loops: dict[str, LoopStarter] = {"registry-imports": runner.run}
    if settings.prune_interval_s > 0:
        loops["registry-retention"] = lambda: retention_loop(settings, pool)
    return loops

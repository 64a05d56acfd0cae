"""The visits worker: the outbox relay, the registry and pairing consumers, and the
scheduler (scanner.scheduler_loop) as a background loop."""

from __future__ import annotations

import asyncpg

from services.visits.config import VisitsSettings
from services.visits.handlers import build_handlers
from services.visits.scanner import scheduler_loop
from shared.consumer import Consumer
from shared.worker import LoopStarter
from shared.worker_metrics import WorkerMetrics
from shared.contracts.events import PAIRING_TOPIC, REGISTRY_TOPIC


def build_consumers(settings: VisitsSettings, pool: asyncpg.Pool) -> list[Consumer]:
    handlers = build_handlers(settings)
    return [
        Consumer(settings, pool, name="visits.registry", topics=(REGISTRY_TOPIC,), handlers=handlers),
        Consumer(settings, pool, name="visits.pairing", topics=(PAIRING_TOPIC,), handlers=handlers),
    ]


def build_background(settings: VisitsSettings, pool: asyncpg.Pool, metrics: WorkerMetrics) -> dict[str, LoopStarter]:
    if not settings.scheduler_enabled:
        return {}
    return {"visits-scheduler": lambda: scheduler_loop(pool, settings)}

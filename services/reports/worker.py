"""Reports' worker: one consumer per domain topic, each feeding the read model. Reports
publishes nothing, so its outbox stays empty and its relay idle."""

from __future__ import annotations

import asyncpg

from services.reports.handlers import NOTIFY_HANDLERS, PAIRING_HANDLERS, REGISTRY_HANDLERS, VISITS_HANDLERS
from shared.consumer import Consumer
from shared.contracts.events import NOTIFY_TOPIC, PAIRING_TOPIC, REGISTRY_TOPIC, VISITS_TOPIC
from shared.settings import ServiceSettings


def build_consumers(settings: ServiceSettings, pool: asyncpg.Pool) -> list[Consumer]:
    return [
        Consumer(settings, pool, name="reports.registry", topics=(REGISTRY_TOPIC,), handlers=REGISTRY_HANDLERS),
        Consumer(settings, pool, name="reports.pairing", topics=(PAIRING_TOPIC,), handlers=PAIRING_HANDLERS),
        Consumer(settings, pool, name="reports.visits", topics=(VISITS_TOPIC,), handlers=VISITS_HANDLERS),
        Consumer(settings, pool, name="reports.notify", topics=(NOTIFY_TOPIC,), handlers=NOTIFY_HANDLERS),
    ]

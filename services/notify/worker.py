"""Notify's worker: the outbox relay and one consumer over the topics it routes from."""

from __future__ import annotations

import asyncpg

from services.notify.handlers import HANDLERS
from shared.consumer import Consumer
from shared.contracts.events import REGISTRY_TOPIC, VISITS_TOPIC
from shared.settings import ServiceSettings


def build_consumers(settings: ServiceSettings, pool: asyncpg.Pool) -> list[Consumer]:
    return [Consumer(settings, pool, name="notify.events", topics=(REGISTRY_TOPIC, VISITS_TOPIC),
                     handlers=HANDLERS)]

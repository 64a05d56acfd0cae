"""Pairing's worker: the outbox relay, the registry consumer (the child projection) and
the visits consumer (caregiver activity)."""

from __future__ import annotations

import asyncpg

from services.pairing.handlers import REGISTRY_HANDLERS, VISITS_HANDLERS
from shared.consumer import Consumer
from shared.contracts.events import REGISTRY_TOPIC, VISITS_TOPIC
from shared.settings import ServiceSettings


def build_consumers(settings: ServiceSettings, pool: asyncpg.Pool) -> list[Consumer]:
    return [
        Consumer(settings, pool, name="pairing.registry", topics=(REGISTRY_TOPIC,), handlers=REGISTRY_HANDLERS),
        Consumer(settings, pool, name="pairing.visits", topics=(VISITS_TOPIC,), handlers=VISITS_HANDLERS),
    ]

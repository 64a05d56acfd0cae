"""Pairing's worker: the outbox relay, the registry consumer (the child projection) and
the visits consumer (caregiver activity)."""

from __future__ import annotations

import asyncpg

from services.pairing.handlers import VISITS_HANDLERS, registry_handlers
from shared.consumer import Consumer
from shared.contracts.events import REGISTRY_TOPIC, VISITS_TOPIC
from shared.settings import ServiceSettings


def build_consumers(settings: ServiceSettings, pool: asyncpg.Pool) -> list[Consumer]:
    return [
        Consumer(settings, pool, name="pairing.registry", topics=(REGISTRY_TOPIC,),
                 handlers=registry_handlers(settings.clock)),
        Consumer(settings, pool, name="pairing.visits", topics=(VISITS_TOPIC,), handlers=VISITS_HANDLERS),
    ]

"""Pairing's worker: the outbox relay and the registry consumer."""

from __future__ import annotations

import asyncpg

from services.pairing.handlers import HANDLERS
from shared.consumer import Consumer
from shared.contracts.events import REGISTRY_TOPIC
from shared.settings import ServiceSettings


def build_consumers(settings: ServiceSettings, pool: asyncpg.Pool) -> list[Consumer]:
    return [Consumer(settings, pool, name="pairing.registry", topics=(REGISTRY_TOPIC,), handlers=HANDLERS)]

"""Notify's worker: the outbox relay, one consumer over the topics it routes from, and the
delivery loop (delivery.py) as a background task beside them."""

from __future__ import annotations

import asyncpg
import httpx

from services.notify import store
from services.notify.channels.factory import build_adapters
from services.notify.config import NotifySettings
from services.notify.contacts import HttpContactSource
from services.notify.delivery import DeliveryLoop
from services.notify.handlers import build_handlers
from shared.consumer import Consumer
from shared.worker import LoopStarter
from shared.worker_metrics import WorkerMetrics
from shared.contracts.events import PAIRING_TOPIC, REGISTRY_TOPIC, VISITS_TOPIC
from shared.crypto import CryptoSettings, FieldCipher
from shared.service_auth import ServiceTokenProvider
from shared.settings import ServiceSettings


def build_consumers(settings: ServiceSettings, pool: asyncpg.Pool) -> list[Consumer]:
    assert isinstance(settings, NotifySettings)
    return [Consumer(settings, pool, name="notify.events", topics=(REGISTRY_TOPIC, PAIRING_TOPIC, VISITS_TOPIC),
                     handlers=build_handlers(settings))]


def build_background(settings: ServiceSettings, pool: asyncpg.Pool, metrics: WorkerMetrics) -> dict[str, LoopStarter]:
    assert isinstance(settings, NotifySettings)
    if not settings.delivery_enabled:
        return {"notify-seed": lambda: _seed(pool)}
    return {"notify-delivery": lambda: _run_delivery(settings, pool, metrics)}


async def _seed(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await store.seed_defaults(conn)


async def _run_delivery(settings: NotifySettings, pool: asyncpg.Pool, metrics: WorkerMetrics) -> None:
    await _seed(pool)
    limits = httpx.Limits(max_connections=settings.delivery_concurrency * 2,
                          max_keepalive_connections=settings.delivery_concurrency)
    async with httpx.AsyncClient(timeout=settings.provider_timeout_s, limits=limits) as client, \
            httpx.AsyncClient(timeout=settings.contact_fetch_timeout_s) as lookups:
        tokens = ServiceTokenProvider(settings.auth, service_name="notify",
                                      jurisdiction=settings.service_jurisdiction)
        contacts = HttpContactSource(lookups, tokens, pairing_base_url=settings.pairing_base_url,
                                     registry_base_url=settings.registry_base_url)
        loop = DeliveryLoop(settings, pool, adapters=build_adapters(settings, client), contacts=contacts,
                            cipher=FieldCipher.from_settings(CryptoSettings()), metrics=metrics)
        await loop.run()

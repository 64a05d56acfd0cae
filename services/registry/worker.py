"""The registry's worker: only the outbox relay, since it consumes nothing yet."""

from __future__ import annotations

import asyncpg

from shared.consumer import Consumer
from shared.settings import ServiceSettings


def build_consumers(settings: ServiceSettings, pool: asyncpg.Pool) -> list[Consumer]:
    return []

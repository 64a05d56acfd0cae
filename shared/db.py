"""Database pools with bounded waits.

A pool acquire that cannot get a connection within `pool_acquire_timeout_s` raises
instead of queueing forever, and every statement carries a server-side timeout, so a
stuck database shows up as an error (and a failing readiness probe), not a hung worker.
"""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import AsyncIterator

import asyncpg

from shared.settings import ServiceSettings


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSON columns come back as Python objects, not strings.
    for pg_type in ("json", "jsonb"):
        await conn.set_type_codec(pg_type, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(settings: ServiceSettings, *, max_size: int | None = None) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        settings.database_url,
        min_size=settings.pool_min_size,
        max_size=max_size or settings.pool_max_size,
        timeout=settings.pool_acquire_timeout_s,
        command_timeout=settings.statement_timeout_ms / 1000 + 5,
        server_settings={
            "statement_timeout": str(settings.statement_timeout_ms),
            "idle_in_transaction_session_timeout": str(settings.statement_timeout_ms * 4),
            "application_name": f"shouhu-{settings.service_name}",
        },
        init=_init_connection,
    )


@asynccontextmanager
async def acquire(pool: asyncpg.Pool, timeout_s: float) -> AsyncIterator[asyncpg.Connection]:
    """Acquires with a bounded wait. Callers own the transaction they open on it."""
    async with pool.acquire(timeout=timeout_s) as conn:
        yield conn


async def connect(settings: ServiceSettings) -> asyncpg.Connection:
    """A single dedicated connection (LISTEN, advisory locks), with the same bounds."""
    conn = await asyncpg.connect(
        settings.database_url,
        timeout=settings.pool_acquire_timeout_s,
        command_timeout=settings.statement_timeout_ms / 1000 + 5,
        server_settings={"application_name": f"shouhu-{settings.service_name}-dedicated"},
    )
    await _init_connection(conn)
    return conn

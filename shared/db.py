"""Database pools with bounded waits.

A pool acquire that cannot get a connection within `pool_acquire_timeout_s` raises
instead of queueing forever, and every statement carries a server-side timeout, so a
stuck database shows up as an error (and a failing readiness probe), not a hung worker.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg

from shared.request_context import bind_actor
from shared.settings import ServiceSettings


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSON columns come back as Python objects, not strings.
    for pg_type in ("json", "jsonb"):
        await conn.set_type_codec(pg_type, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class BoundedPool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg ships no type information
    """A pool whose `acquire()` gives up after `acquire_timeout_s` unless told otherwise.

    asyncpg waits for a free connection for ever by default; under overload that turns
    into requests hanging without end instead of failing fast and showing on /readyz.
    """

    def __init__(self, *args: object, acquire_timeout_s: float, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout_s = acquire_timeout_s

    def acquire(self, *, timeout: float | None = None):  # type: ignore[no-untyped-def]
        return super().acquire(timeout=timeout if timeout is not None else self.acquire_timeout_s)

    async def close(self, timeout_s: float = 10.0) -> None:
        """Closes gracefully within `timeout_s`, else terminates. asyncpg's close() waits for
        every connection to be released, and a connection the server terminated (a restart,
        pg_terminate_backend) may never report its release: shutdown would hang for ever."""
        try:
            await asyncio.wait_for(super().close(), timeout_s)
        except asyncio.TimeoutError:
            self.terminate()  # (close() already terminated the pool when it was cancelled)


async def create_pool(settings: ServiceSettings, *, max_size: int | None = None) -> asyncpg.Pool:
    pool = BoundedPool(
        settings.database_url,
        acquire_timeout_s=settings.pool_acquire_timeout_s,
        min_size=settings.pool_min_size,
        max_size=max_size or settings.pool_max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        timeout=settings.pool_acquire_timeout_s,  # connecting, too, is bounded
        command_timeout=settings.statement_timeout_ms / 1000 + 5,
        server_settings={
            "statement_timeout": str(settings.statement_timeout_ms),
            "idle_in_transaction_session_timeout": str(settings.statement_timeout_ms * 4),
            "application_name": f"shouhu-{settings.service_name}",
        },
        init=_init_connection,
        setup=bind_actor,  # the request's actor, for the change history (shared/request_context.py)
    )
    await pool
    return pool


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

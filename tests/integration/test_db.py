"""Bounded waits on the database."""

from __future__ import annotations

import asyncio
import time

import pytest

from shared.db import create_pool
from shared.settings import ServiceSettings
from tests.support.databases import create_database


async def test_pool_acquire_and_statements_are_bounded(infra) -> None:
    url = await create_database(infra, "bounds")
    settings = ServiceSettings(database_url=url, pool_min_size=1, pool_max_size=1, pool_acquire_timeout_s=0.3,
                               statement_timeout_ms=300)
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as held:
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                async with pool.acquire():
                    pass
            assert time.monotonic() - started < 2
            with pytest.raises(Exception, match="statement timeout"):
                await held.execute("SELECT pg_sleep(5)")
    finally:
        await pool.close()

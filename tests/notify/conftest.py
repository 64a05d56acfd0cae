"""Fixtures for notify's tests: a migrated database per module and a pool on it."""

from __future__ import annotations

from typing import AsyncIterator

import pytest_asyncio

from services.notify.config import NotifySettings
from services.notify.entry import ENTRY
from shared.db import create_pool
from tests.support.databases import create_migrated_database, drop_database


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def notify_db(infra) -> AsyncIterator[str]:
    url = await create_migrated_database(infra, "notify", ENTRY.migrations_dir)
    try:
        yield url
    finally:
        await drop_database(infra, url)


def notify_settings(database_url: str, **overrides: object) -> NotifySettings:
    values: dict[str, object] = dict(database_url=database_url, delivery_backoff_base_s=10.0,
                                     delivery_max_attempts=3, pool_max_size=8)
    values.update(overrides)
    return NotifySettings(**values)


@pytest_asyncio.fixture(loop_scope="session")
async def pool(notify_db):  # type: ignore[no-untyped-def]
    pool = await create_pool(notify_settings(notify_db))
    async with pool.acquire() as conn:
        from services.notify import store

        await store.seed_defaults(conn)
    try:
        yield pool
    finally:
        await pool.close()

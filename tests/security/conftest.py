from __future__ import annotations

from typing import AsyncIterator

import pytest_asyncio

from tests.registry.helpers import Registry, running_registry


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def registry(infra) -> AsyncIterator[Registry]:
    """The registry app in-process with a fresh migrated database, one per test module."""
    async with running_registry(infra) as running:
        yield running

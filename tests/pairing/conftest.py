from __future__ import annotations

from typing import AsyncIterator

import pytest_asyncio

from tests.pairing.harness import Harness, start_harness


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pairing(infra) -> AsyncIterator[Harness]:
    """The pairing app in-process with a fresh migrated database, one per test module."""
    async for harness in start_harness(infra):
        yield harness

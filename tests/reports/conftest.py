from __future__ import annotations

from typing import AsyncIterator

import pytest_asyncio

from tests.reports.harness import Harness, start_harness


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def reports(infra) -> AsyncIterator[Harness]:
    """The reports app in-process with a fresh migrated database, one per test module."""
    async for harness in start_harness(infra):
        yield harness

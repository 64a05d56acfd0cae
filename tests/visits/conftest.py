from __future__ import annotations

from typing import AsyncIterator

import pytest_asyncio

from tests.visits.harness import Harness, open_harness


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def harness(infra) -> AsyncIterator[Harness]:
    async for opened in open_harness(infra):
        yield opened

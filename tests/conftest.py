"""Fixtures shared by every test: real PostgreSQL and real Kafka (see tests/support/infra.py).

Every test that uses them, directly or through another fixture, is marked `infra`; the
others run without any infrastructure: `make test-fast` (pytest -m "not infra")."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from typing import Iterator

import pytest

from tests.support.cleanup import clean_up
from tests.support.infra import Infrastructure, start_infrastructure


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    with ExitStack() as stack:
        try:
            infrastructure = start_infrastructure(stack)
        except RuntimeError as missing:
            pytest.exit(str(missing), returncode=3)
        yield infrastructure
        asyncio.run(clean_up(infrastructure))


@pytest.fixture
def topic_prefix(infra: Infrastructure) -> str:
    """A fresh namespace of topics, so tests never read each other's events."""
    return infra.new_topic_prefix()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "infra" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.infra)

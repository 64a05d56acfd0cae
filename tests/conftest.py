"""Fixtures shared by every test: real PostgreSQL and real Kafka (see tests/support/infra.py).

Every test that uses them, directly or through another fixture, is marked `infra`; the
others run without any infrastructure: `make test-fast` (pytest -m "not infra")."""

from __future__ import annotations

import asyncio
import os
from contextlib import ExitStack
from typing import Iterator

import pytest

# The suite runs in development mode (development tokens and keys), as `make test` does; a
# bare `pytest` gets the same. Tests of production settings build their own environment.
os.environ.setdefault("SHOUHU_ENV", "development")

from tests.support.cleanup import clean_up  # noqa: E402
from tests.support.infra import Infrastructure, start_infrastructure  # noqa: E402


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
        # scripts/infra's Keycloak is infrastructure too (the identity provider's tests).
        # The web tests' stack (tests/web/conftest.py's `gateway`) asks for `infra` as it starts.
        names = set(getattr(item, "fixturenames", ()))
        if {"infra", "keycloak"} & names or ("gateway" in names and "tests/web/" in item.nodeid):
            item.add_marker(pytest.mark.infra)

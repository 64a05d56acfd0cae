"""Fixtures shared by every test: real PostgreSQL and real Kafka (see tests/support/infra.py)."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from typing import Iterator

import pytest

from tests.support.infra import Infrastructure, start_infrastructure


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    with ExitStack() as stack:
        try:
            yield start_infrastructure(stack)
        except RuntimeError as missing:
            pytest.exit(str(missing), returncode=3)


@pytest.fixture
def topic_prefix() -> str:
    """A fresh namespace of topics, so tests never read each other's events."""
    return f"t{uuid.uuid4().hex[:10]}."

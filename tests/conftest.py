"""Fixtures shared by every test: real PostgreSQL and real Kafka (see tests/support/infra.py).

Every test that uses them, directly or through another fixture, is marked `infra`; the
others run without any infrastructure: `make test-fast` (pytest -m "not infra")."""

from __future__ import annotations

import asyncio
import os
from contextlib import ExitStack
from typing import Any, Iterator

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
    # The group that runs longest first (see pytest_xdist_make_scheduler), so that in `make
    # test` the other process works through the files beside it rather than waiting for it
    # at the end.
    items.sort(key=lambda item: not item.nodeid.startswith(_ONE_PROCESS))
    for item in items:
        # scripts/infra's Keycloak is infrastructure too (the identity provider's tests).
        # The web tests' stack (tests/web/conftest.py's `gateway`) asks for `infra` as it starts.
        names = set(getattr(item, "fixturenames", ()))
        if {"infra", "keycloak"} & names or ("gateway" in names and "tests/web/" in item.nodeid):
            item.add_marker(pytest.mark.infra)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's: absent without it (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test` runs the suite in two processes (pytest-xdist, `--dist loadscope`): a file's
    tests in one of them, in order, since many share a module's database and build on what
    the tests before them wrote; and the files of _ONE_PROCESS in the same one."""
    from xdist.scheduler import LoadScopeScheduling

    class FilesAndTheStack(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "the stack" if nodeid.startswith(_ONE_PROCESS) else nodeid.partition("::")[0]

    return FilesAndTheStack(config, log) if config.getvalue("dist") == "loadscope" else None


# These files run in the same process, one after the other: the web tests share one stack
# per process (a second would cost its start-up again), the stack's own tests build the
# same web/dist, and both they and the identity provider's tests change the same demo users
# in scripts/infra's Keycloak (the teacher's caregiver id).
_ONE_PROCESS = ("tests/web/", "tests/integration/test_stack_and_cli.py", "tests/integration/test_identity_provider.py")

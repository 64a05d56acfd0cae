"""The stack and the browser the web tests share (the console's and the caregiver app's): one
stack for the session, started by `scripts/stack up` with its own ports, databases and demo
county (tests/support/stack_up.py) and scripts/infra's Keycloak as its identity provider, and
Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support import stack_up
from tests.support.keycloak import Keycloak
from tests.web.console import CHROMIUM


@pytest.fixture(scope="session")
def gateway(request, tmp_path_factory) -> Iterator[str]:
    # SHOUHU_CONSOLE_TEST_GATEWAY=http://127.0.0.1:PORT runs the tests against a stack that is
    # already up (one started by tests/support/stack_up.py with its 40-child demo county),
    # which saves its few minutes while working on the console.
    if os.environ.get("SHOUHU_CONSOLE_TEST_GATEWAY"):
        yield os.environ["SHOUHU_CONSOLE_TEST_GATEWAY"]
        return
    infra = request.getfixturevalue("infra")
    env = stack_up.stack_env(infra, tmp_path_factory.mktemp("console-stack"), children=40)
    if os.environ.get("SHOUHU_TEST_KEYCLOAK_URL"):
        # scripts/infra's Keycloak: offered for sign-in beside the demo people, its tokens
        # accepted beside the development ones (tests/web/test_sign_in.py).
        env["SHOUHU_STACK_OIDC_AUTHORITY"] = Keycloak.from_environment().issuer
    with stack_up.running_stack(env):
        yield f"http://127.0.0.1:{env['SHOUHU_GATEWAY_PORT']}"


@pytest.fixture(scope="module")
def browser(gateway: str) -> Iterator[Browser]:
    # After the stack: starting it runs asyncio (its databases), which cannot run inside the
    # loop Playwright's sync API keeps going, whichever test of a session comes first. For a
    # module, not the session: the async tests that the same pytest process runs after the
    # web tests (tests/conftest.py puts these first) need that loop gone.
    with sync_playwright() as playwright:
        # --no-sandbox: the tests may run as root (CI does), where chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()

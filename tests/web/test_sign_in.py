"""Signing in through a real identity provider: the caregiver app at /m/ and the staff console
send the browser to scripts/infra's Keycloak (realm deploy/keycloak/shouhu-realm.json), a person
types their password on its login page, and the front end comes back with an authorization code
it exchanges with its PKCE verifier; the stack's services accept the access token (checked
against the realm's keys) and the first page shows the person's real data. A refused token
ends the session with the reason; the console's token is renewed by the provider before it
expires; signing out of the console ends the provider's session too."""

from __future__ import annotations

import json
import re
from typing import Iterator

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.keycloak import REALM_FILE_PASSWORD, Keycloak
from tests.web.app import phone_context, teacher_token
from tests.web.console import DESK, screenshot, serious_accessibility_violations

# The stack (asyncio, to create its databases) comes before the browser (Playwright's own loop)
# in every test's parameters.
PROVIDER_BUTTON = "通过本县统一身份认证登录"
CLERK_TOWNSHIP = "顶云街道"  # the demo township-clerk's township (TOWNSHIPS[0] of services/demo.py)
OTHER_TOWNSHIPS = ("百合街道", "永宁镇", "新铺镇", "花江镇")


@pytest.fixture(scope="module")
def keycloak(gateway: str) -> Iterator[Keycloak]:
    """The realm, told about this stack: its gateway's origin (the token endpoint answers the
    front ends' calls from there) and the demo teacher's caregiver id (which the pairing service
    gave when the demo county was loaded, as an administrator would record it)."""
    keycloak = Keycloak.from_environment()
    origin = re.match(r"https?://[^/]+", gateway).group(0)  # type: ignore[union-attr]
    caregiver_id = jwt.decode(teacher_token(gateway), options={"verify_signature": False})["caregiver_id"]
    offered = httpx.get(f"{gateway}/oidc.json", timeout=10)
    assert offered.headers["content-type"].startswith("application/json")
    assert offered.json()["authority"] == keycloak.issuer  # the stack offers this realm
    admin = keycloak.admin()
    try:
        for client in ("shouhu-console", "shouhu-app"):
            admin.allow_origin(client, origin)
        admin.set_user_attribute("teacher", "caregiver_id", caregiver_id)
        yield keycloak
    finally:
        for client in ("shouhu-console", "shouhu-app"):
            admin.forget_origin(client, origin)
        admin.close()


def log_in_at_the_provider(page: Page, keycloak: Keycloak, username: str, screen: str) -> None:
    expect(page).to_have_url(re.compile(re.escape(f"{keycloak.issuer}/protocol/openid-connect/auth")), timeout=20_000)
    asked = page.url
    assert "code_challenge_method=S256" in asked and "code_challenge=" in asked and "response_type=code" in asked
    page.locator("#username").fill(username)
    page.locator("#password").fill(REALM_FILE_PASSWORD)
    screenshot(page, screen)
    page.locator("#kc-login").click()


def issuer_of_stored_token(page: Page, storage: str) -> str:
    saved = json.loads(page.evaluate(f"{storage}.getItem('shouhu.dev-session')"))
    return str(jwt.decode(saved["token"], options={"verify_signature": False})["iss"])


def refuse_stored_token(page: Page, storage: str) -> None:
    """The same person's token with its signature altered: the services answer 401."""
    page.evaluate(f"""() => {{
        const saved = JSON.parse({storage}.getItem('shouhu.dev-session'));
        saved.token = saved.token.slice(0, -4) + (saved.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
        {storage}.setItem('shouhu.dev-session', JSON.stringify(saved));
    }}""")


def test_the_teacher_signs_in_to_the_app_through_keycloak(gateway: str, keycloak: Keycloak, browser: Browser) -> None:
    with httpx.Client(base_url=gateway, headers={"Authorization": f"Bearer {teacher_token(gateway)}"},
                      timeout=20) as api:
        children = api.get("/registry/v1/me/children").json()["items"]
    assert len(children) >= 2
    context = phone_context(browser, gateway)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto("/m/")
        page.get_by_role("button", name=PROVIDER_BUTTON).tap()
        log_in_at_the_provider(page, keycloak, "teacher", "app-idp-login")
        expect(page.get_by_role("heading", name="我的孩子")).to_be_visible(timeout=20_000)
        expect(page).to_have_url(f"{gateway}/m/")
        # The same children the development sign-in shows: the token's caregiver id, verified.
        expect(page.get_by_test_id("child")).to_have_count(len(children))
        for child in children:
            expect(page.get_by_test_id("child").filter(has_text=child["name"])).to_be_visible()
        assert issuer_of_stored_token(page, "localStorage") == keycloak.issuer
        screenshot(page, "app-idp-children")
        assert not serious_accessibility_violations(page)

        refuse_stored_token(page, "localStorage")
        page.goto("/m/due")
        expect(page).to_have_url(re.compile(r"/m/sign-in"), timeout=20_000)
        expect(page.get_by_text("登录已过期，请重新登录")).to_be_visible()
        assert page.evaluate("localStorage.getItem('shouhu.dev-session')") is None
        expect(page.get_by_role("button", name=PROVIDER_BUTTON)).to_be_visible()
        screenshot(page, "app-idp-session-ended")
    finally:
        context.close()
    assert not problems, f"JavaScript errors on the page: {problems}"


def test_the_township_clerk_signs_in_to_the_console_through_keycloak_and_out_again(
        gateway: str, keycloak: Keycloak, browser: Browser) -> None:
    context = browser.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=gateway)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # The realm's tokens last 15 minutes: renewing 895 s before that is a few seconds in.
    offered = httpx.get(f"{gateway}/oidc.json", timeout=10).json()
    page.route(f"{gateway}/oidc.json", lambda route: route.fulfill(json={**offered, "renew_before_s": 895}))
    try:
        page.goto("/children")
        expect(page).to_have_url(re.compile(r"/sign-in\?next="))
        page.get_by_role("button", name=PROVIDER_BUTTON).click()
        log_in_at_the_provider(page, keycloak, "township-clerk", "idp-01-console-login")
        # Back where the clerk was going, with the township's children from the registry.
        expect(page.get_by_role("heading", name="儿童信息")).to_be_visible(timeout=20_000)
        expect(page).to_have_url(f"{gateway}/children")
        expect(page.get_by_test_id("who")).to_contain_text("陈建国")
        expect(page.locator(".el-table__body tr").first).to_be_visible()
        assert issuer_of_stored_token(page, "sessionStorage") == keycloak.issuer
        # Renewed by Keycloak in the background (the refresh token never in storage), and taken.
        first = json.loads(page.evaluate("sessionStorage.getItem('shouhu.dev-session')"))["token"]
        page.wait_for_function("""first => {
            const saved = JSON.parse(sessionStorage.getItem('shouhu.dev-session') || '{}');
            return saved.token && saved.token !== first;
        }""", arg=first, timeout=30_000)
        assert issuer_of_stored_token(page, "sessionStorage") == keycloak.issuer
        assert "refresh_token" not in page.evaluate("JSON.stringify({...localStorage, ...sessionStorage})")
        expect(page).to_have_url(f"{gateway}/children")
        page.goto("/")
        chart = page.get_by_test_id("registration-chart")
        expect(chart).to_have_attribute("data-drawn", "true")
        description = chart.get_attribute("aria-label") or ""
        assert CLERK_TOWNSHIP in description and not any(t in description for t in OTHER_TOWNSHIPS)
        screenshot(page, "idp-02-console-dashboard")

        page.get_by_role("button", name="退出登录").click()
        expect(page).to_have_url(f"{gateway}/sign-in", timeout=20_000)
        assert page.evaluate("sessionStorage.getItem('shouhu.dev-session')") is None
        screenshot(page, "idp-03-console-signed-out")
        # The provider's session ended too: signing in again asks for the password again.
        page.get_by_role("button", name=PROVIDER_BUTTON).click()
        expect(page.locator("#password")).to_be_visible(timeout=20_000)
    finally:
        context.close()
    assert not problems, f"JavaScript errors on the page: {problems}"


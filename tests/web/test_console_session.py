"""The console's session with the county's identity provider (played by routes in the browser,
as in test_app.py; test_sign_in.py signs in on a real Keycloak): the access token is renewed
with the refresh token before it expires, kept in memory only, and used from then on; a 401
afterwards still ends the session cleanly, with the reason on the sign-in page."""

from __future__ import annotations

import base64
import re

import jwt
from playwright.sync_api import Page, expect

from shared.auth import AuthSettings, issue_dev_token
from tests.web import test_console
from tests.web.console import dev_token, play_identity_provider, screenshot

page = test_console.page  # the desk-sized, zh-CN page of the console's tests (a fixture)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_the_clerks_token_is_renewed_in_the_background_and_a_401_still_ends_the_session(
        page: Page, gateway: str) -> None:
    first = dev_token(gateway, "township_clerk")
    claims = jwt.decode(first, options={"verify_signature": False})
    renewed = issue_dev_token(AuthSettings(), subject=claims["sub"], roles=claims["roles"],
                              jurisdiction=claims["jurisdiction"], ttl_seconds=7 * 3600)
    grants = play_identity_provider(page, gateway, client_id="shouhu-console", first=first, renewed=renewed,
                                    name="陈建国")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.headers.get("authorization", "")) if "/registry/" in r.url else None)

    page.goto("/children")
    page.get_by_role("button", name="通过本县统一身份认证登录").click()
    expect(page.get_by_role("heading", name="儿童信息")).to_be_visible(timeout=20_000)
    assert first in page.evaluate("sessionStorage.getItem('shouhu.dev-session')")
    stored = page.evaluate("JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert "refresh-1" not in stored  # the refresh token is in the page's memory only

    page.wait_for_function(f"(sessionStorage.getItem('shouhu.dev-session') || '').includes('{renewed}')",
                           timeout=30_000)
    assert [g["grant_type"] for g in grants] == [["authorization_code"], ["refresh_token"]]
    assert grants[1]["refresh_token"] == ["refresh-1"] and grants[1]["client_id"] == ["shouhu-console"]
    expect(page).to_have_url(f"{gateway}/children")  # renewed without leaving the page
    page.get_by_role("menuitem", name="工作台").click()
    expect(page.get_by_test_id("figures")).to_contain_text("在册儿童")
    assert sent and sent[-1] == f"Bearer {renewed}"

    # The services refuse the token after all (revoked, say): the session ends with the reason.
    page.route("**/registry/v1/**", lambda route: route.fulfill(status=401, json={"detail": "token revoked"}))
    page.get_by_role("menuitem", name="儿童信息").click()
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    expect(page.get_by_text("登录已过期，请重新登录")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('shouhu.dev-session')") is None
    screenshot(page, "idp-04-console-renewed-then-refused")

"""What the browser tests of the staff console share: Debian's chromium driven by Playwright,
screenshots kept as artefacts, and axe-core's accessibility check."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.support.processes import REPO

CHROMIUM = "/usr/bin/chromium"
SCREENS = REPO / ".data" / "artefacts" / "screens"
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
DESK = {"width": 1366, "height": 768}


def screenshot(page: Page, name: str) -> Path:
    """Full page, after fonts, transitions and (where there is one) the chart have finished drawing."""
    page.evaluate("document.fonts.ready")
    # CSS transitions (a progress bar growing) finish before the picture is taken.
    page.evaluate("Promise.all(document.getAnimations().map(a => a.finished.catch(() => null)))")
    for chart in page.locator(".chart").all():
        chart.locator("xpath=self::*[@data-drawn='true']").wait_for(timeout=10_000)
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_accessibility_violations(page: Page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (ids, help and
    the offending elements' selectors, never their text)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ['violations'] });
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + (n.any[0]?.message ?? '')) }));
    }""")
    return json.loads(json.dumps(result))


def form_item(scope, label: str):
    """An Element Plus form item by its label's exact text (its input, select or error inside).
    The inner locator is matched inside each form item, so it is built from the page."""
    root = scope if isinstance(scope, Page) else scope.page
    title = root.locator(".el-form-item__label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    return scope.locator(".el-form-item").filter(has=title)


# Scrolls an item of a floating list into view, then waits for two frames in which its box
# stays put. An open list is placed again only on the frame after a scroll: when Playwright's
# click scrolled and pressed at once, the press landed on the item and the release beside it, on
# the moved list, and nothing was chosen (seen under load in CI). Bounded, so a list that never
# settles is still clicked, and the test fails on what the click did.
_SETTLE = """async (item) => {
    item.scrollIntoView({ block: 'nearest' });
    const frame = () => new Promise(resolve => requestAnimationFrame(resolve));
    let before = '';
    for (let still = 0, frames = 0; still < 2 && frames < 120; frames++) {
        await frame();
        const box = item.getBoundingClientRect();
        const now = [box.x, box.y, box.width, box.height].join();
        still = now === before ? still + 1 : 0;
        before = now;
    }
}"""


def click_item(item) -> None:
    """Clicks an item of an open list or panel (a select's option, a date picker's day) once it
    has stopped moving."""
    item.evaluate(_SETTLE)
    item.click()


def choose(page: Page, scope, label: str, option: str) -> None:
    """Picks an option of the Element Plus select in the form item labelled `label`."""
    form_item(scope, label).locator(".el-select").click()
    click_item(page.locator(".el-select-dropdown__item:visible", has_text=option).first)
    # A single choice closes the list; until it has faded out, a click below would land on
    # one of its options (a school instead of the radio under it).
    expect(page.locator(".el-select-dropdown:not(.is-multiple):visible")).to_have_count(0)


def dev_token(gateway: str, person: str) -> str:
    """The development sign-in's token of one of the demo county's people."""
    people = httpx.get(f"{gateway}/dev-tokens.json", timeout=10).json()["people"]
    return next(p["token"] for p in people if p["key"] == person)


def until(condition, what: str, timeout_s: float = 30.0):
    """Asks again until `condition()` answers something truthy (events travel through Kafka)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = condition()
        if answer:
            return answer
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def play_identity_provider(page: Page, gateway: str, *, client_id: str, first: str, renewed: str,
                           name: str) -> list[dict[str, list[str]]]:
    """The county's identity provider played by routes in the browser (the console's and the
    app's renewal tests; test_sign_in.py uses a real Keycloak): its discovery document, an
    authorization endpoint that answers at once with a code, and a token endpoint that answers
    the code with `first` and a refresh token, and the refresh token with `renewed`. /oidc.json
    asks for renewal 3,595 s before a one-hour token expires: a few seconds after signing in.
    Returns the grants the token endpoint was asked for, as they arrive."""
    import base64
    from urllib.parse import parse_qs, urlparse

    from playwright.sync_api import Route

    def b64url(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    authority = f"{gateway}/county-idp"
    subject = json.loads(base64.urlsafe_b64decode(first.split(".")[1] + "==").decode())["sub"]
    id_token = ".".join([b64url(b'{"alg":"none"}'), b64url(json.dumps(
        {"iss": authority, "aud": client_id, "sub": subject, "name": name}).encode()), ""])
    grants: list[dict[str, list[str]]] = []

    def token(route: Route) -> None:
        asked = parse_qs(route.request.post_data or "")
        grants.append(asked)
        if asked["grant_type"] == ["authorization_code"]:
            route.fulfill(json={"access_token": first, "id_token": id_token, "refresh_token": "refresh-1",
                                "token_type": "Bearer", "expires_in": 3600, "scope": "openid profile"})
        else:
            route.fulfill(json={"access_token": renewed, "refresh_token": "refresh-2", "token_type": "Bearer",
                                "expires_in": 3600, "scope": "openid profile"})

    def authorize(route: Route) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        route.fulfill(status=302, headers={"Location": f"{query['redirect_uri'][0]}?code=c&state={query['state'][0]}"})

    page.route(f"{gateway}/oidc.json", lambda route: route.fulfill(
        json={"authority": authority, "client_id": client_id, "renew_before_s": 3595}))
    page.route(f"{authority}/.well-known/openid-configuration", lambda route: route.fulfill(json={
        "issuer": authority, "authorization_endpoint": f"{authority}/auth", "token_endpoint": f"{authority}/token",
        "jwks_uri": f"{authority}/certs", "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"]}))
    page.route(f"{authority}/auth?*", authorize)
    page.route(f"{authority}/token", token)
    return grants

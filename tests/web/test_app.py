"""The caregiver app (/m/) in Debian's chromium at phone size (390×844, touch) against the real
stack: the demo teacher sees the paired children and the family's numbers, records a home visit
in three taps, records three contacts and a photo without signal that each arrive once when the
signal returns, and sees a refused record with its reason and corrects it. Every screen is
photographed (.data/artefacts/screens/app-*.png) and checked with axe-core."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, Route, expect

from shared.clock import from_env
from tests.web import app as phone_tests
from tests.web.app import (
    large_photo, look, outbox_ids, sign_in_as_teacher, teacher_token, wait_for_service_worker,
)
from tests.web.console import play_identity_provider

# The phone-sized page and the teacher's API client of the app's tests (fixtures, tests/web/app.py).
page = phone_tests.page
api = phone_tests.api


def contacts_of(api: httpx.Client, child_id: str) -> list[dict]:
    response = api.get(f"/visits/v1/children/{child_id}/contacts", params={"limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def wait_for_new_contacts(page: Page, api: httpx.Client, child_id: str, before: set[str], *,
                          count: int, timeout_s: float = 30) -> list[dict]:
    """The child's contacts not in `before`, once the server holds `count` of them (bounded:
    the app sends from its outbox in the background, so the page's state alone proves nothing)."""
    deadline = time.monotonic() + timeout_s
    while True:
        new = [c for c in contacts_of(api, child_id) if c["id"] not in before]
        if len(new) >= count or time.monotonic() > deadline:
            wait_until_sent(page)
            return new
        page.wait_for_timeout(250)


def wait_until_sent(page: Page) -> None:
    """Until the outbox holds nothing waiting (a notice that is not up yet proves nothing)."""
    expect(page.get_by_test_id("waiting-record")).to_have_count(0, timeout=30_000)
    expect(page.get_by_test_id("sync-notice")).to_have_count(0, timeout=30_000)


def test_the_gateway_serves_the_app_and_its_service_worker(gateway: str) -> None:
    index = httpx.get(f"{gateway}/m/children/some-route-of-the-app", timeout=10)
    assert index.status_code == 200 and "守护 · 结对帮扶" in index.text
    assert httpx.get(f"{gateway}/m", timeout=10).status_code == 301
    worker = httpx.get(f"{gateway}/m/sw.js", timeout=10)
    assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]
    manifest = httpx.get(f"{gateway}/m/manifest.webmanifest", timeout=10)
    assert manifest.json()["scope"] == "/m/"


def test_the_teacher_sees_the_children_calls_a_parent_and_records_a_visit_in_three_taps(page: Page, api) -> None:
    page.goto("/m/")
    expect(page).to_have_url(re.compile(r"/m/sign-in"))
    look(page, "sign-in")
    sign_in_as_teacher(page)
    children = api.get("/registry/v1/me/children").json()["items"]
    assert len(children) >= 2
    expect(page.get_by_test_id("child")).to_have_count(len(children))
    for child in children:
        expect(page.get_by_test_id("child").filter(has_text=child["name"])).to_contain_text(f"{child['age']}岁")
    look(page, "children")

    first = children[0]
    page.get_by_test_id("child").filter(has_text=first["name"]).tap()
    expect(page.get_by_role("heading", name=first["name"])).to_be_visible()
    people = [*first["guardians"], *first["parents"]]
    phones = [p["phone"].removeprefix("+86") for p in people if p["phone"]]
    assert phones, "the demo children carry the family's numbers"
    for phone in phones:
        expect(page.locator(f'a[href="tel:{phone}"]')).to_be_visible()
    look(page, "child-card")

    page.get_by_role("tab", name="待办").tap()
    expect(page.get_by_role("heading", name="待办")).to_be_visible()
    page.wait_for_load_state("networkidle")
    look(page, "due")

    page.get_by_role("tab", name="消息").tap()
    expect(page.get_by_role("heading", name="消息")).to_be_visible()
    page.wait_for_load_state("networkidle")
    look(page, "inbox")

    before = {c["id"] for c in contacts_of(api, first["id"])}
    page.get_by_role("tab", name="记录").tap()
    # The three taps: the child, the kind, now.
    page.get_by_test_id("record-child").filter(has_text=first["name"]).tap()
    page.locator("[data-kind=home_visit]").tap()
    page.get_by_test_id("confirm").tap()
    new = wait_for_new_contacts(page, api, first["id"], before, count=1)
    assert [c["kind"] for c in new] == ["home_visit"], page.locator("body").inner_text()
    # The visit fulfils the home visit owed for the period it falls in, at once.
    day = datetime.fromisoformat(new[0]["occurred_at"]).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    owed = [d for d in api.get("/visits/v1/me/duties", params={"state": "open", "limit": 500}).json()["items"]
            if d["child_id"] == first["id"] and d["duty_kind"] == "home_visit" and d["period_start"] <= day <= d["due_on"]]
    assert owed == []

    # The optional part, with a concern that starts the mandatory-report path, explained.
    page.get_by_text("补充时间、近况、照片等（可选）").tap()
    page.get_by_role("switch", name="发现了需要帮助的情况").tap()
    page.get_by_role("radio", name="疑似受到侵害").tap()
    expect(page.get_by_test_id("mandatory-report")).to_contain_text("公安机关或民政部门")
    look(page, "record")


def test_three_contacts_and_a_photo_without_signal_arrive_once_when_the_signal_returns(
        page: Page, api, tmp_path) -> None:
    sign_in_as_teacher(page)
    wait_for_service_worker(page)
    children = api.get("/registry/v1/me/children").json()["items"]
    before = {child["id"]: {c["id"] for c in contacts_of(api, child["id"])} for child in children}
    page.get_by_role("tab", name="记录").tap()
    expect(page.get_by_test_id("record-child").first).to_be_visible()

    page.context.set_offline(True)
    photo = tmp_path / "visit.jpg"
    photo.write_bytes(large_photo())
    kinds = ["home_visit", "talk", "parent_call"]
    for n, kind in enumerate(kinds):
        child = children[n % len(children)]
        page.get_by_test_id("record-child").filter(has_text=child["name"]).tap()
        page.locator(f"[data-kind={kind}]").tap()
        if n == 0:
            page.get_by_text("补充时间、近况、照片等（可选）").tap()
            page.locator("input[type=file]").set_input_files(str(photo))
            expect(page.locator(".van-uploader__preview")).to_have_count(1, timeout=20_000)
        page.get_by_test_id("confirm").tap()
        expect(page.get_by_test_id("waiting-record")).to_have_count(n + 1)
    expect(page.get_by_test_id("sync-notice")).to_contain_text("3条记录已保存在手机上")
    look(page, "offline-outbox")

    page.reload()  # still without signal: the service worker opens the app, the outbox is still there
    expect(page.get_by_test_id("waiting-record")).to_have_count(3)
    ids = outbox_ids(page)
    assert len(set(ids)) == 3

    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until_sent(page)
    expect(page.get_by_test_id("waiting-record")).to_have_count(0)

    arrived = []
    for child in children:
        new = [c for c in contacts_of(api, child["id"]) if c["id"] not in before[child["id"]]]
        arrived += new
    assert sorted(c["id"] for c in arrived) == sorted(ids)   # each once, nothing else
    assert sorted(c["kind"] for c in arrived) == sorted(kinds)
    photos = api.get(f"/visits/v1/contacts/{ids[0]}/photos").json()["items"]
    assert len(photos) == 1 and photos[0]["content_type"] == "image/jpeg"
    assert photos[0]["size_bytes"] <= 300 * 1024
    served = api.get(f"/visits/v1/contacts/{ids[0]}/photos/1")
    assert served.status_code == 200 and served.content[:3] == b"\xff\xd8\xff"


def test_a_refused_record_stays_with_its_reason_and_is_corrected(page: Page, api) -> None:
    sign_in_as_teacher(page)
    child = api.get("/registry/v1/me/children").json()["items"][0]
    before = {c["id"] for c in contacts_of(api, child["id"])}
    page.get_by_role("tab", name="记录").tap()
    page.get_by_test_id("record-child").filter(has_text=child["name"]).tap()
    page.locator("[data-kind=talk]").tap()
    page.get_by_text("补充时间、近况、照片等（可选）").tap()
    # A phone whose clock runs two days fast stamps a time the server cannot accept.
    ahead = from_env().local_now() + timedelta(days=2)
    page.locator("input[name=when]").fill(ahead.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_test_id("confirm").tap()

    refused = page.get_by_test_id("refused-record")
    expect(refused).to_have_count(1, timeout=20_000)
    expect(refused.get_by_test_id("refusal-reason")).to_contain_text("记录的时间晚于现在")
    expect(page.get_by_test_id("refused-notice")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("refused-record")).to_have_count(1)  # kept on the phone
    look(page, "refused")
    assert {c["id"] for c in contacts_of(api, child["id"])} == before

    page.get_by_role("button", name="修改后重新发送").tap()
    page.locator("input[name=when]").fill("")
    page.get_by_test_id("confirm").tap()
    expect(page.get_by_test_id("refused-record")).to_have_count(0, timeout=20_000)
    wait_until_sent(page)
    new = [c for c in contacts_of(api, child["id"]) if c["id"] not in before]
    assert [c["kind"] for c in new] == ["talk"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_sign_in_through_the_countys_identity_provider_uses_the_code_flow_with_pkce(page: Page, gateway: str) -> None:
    """The identity provider is played by routes in the browser (the county's own is not ours to
    start here): the app must send an S256 code challenge, answer it with the matching
    verifier, and sign in with the access token it receives."""
    authority = f"{gateway}/county-idp"
    access_token = teacher_token(gateway)
    id_token = ".".join([_b64url(b'{"alg":"none"}'), _b64url(json.dumps(
        {"iss": authority, "aud": "shouhu-app", "sub": "teacher-1", "name": "赵老师"}).encode()), ""])
    seen: dict[str, dict[str, list[str]]] = {}

    def authorize(route: Route) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        seen["authorize"] = query
        back = f"{query['redirect_uri'][0]}?code=the-code&state={query['state'][0]}"
        route.fulfill(status=302, headers={"Location": back})

    def token(route: Route) -> None:
        seen["token"] = parse_qs(route.request.post_data or "")
        route.fulfill(json={"access_token": access_token, "id_token": id_token, "token_type": "Bearer",
                            "expires_in": 3600, "scope": "openid profile"})

    page.route(f"{gateway}/oidc.json", lambda route: route.fulfill(
        json={"authority": authority, "client_id": "shouhu-app"}))
    page.route(f"{authority}/.well-known/openid-configuration", lambda route: route.fulfill(json={
        "issuer": authority, "authorization_endpoint": f"{authority}/auth", "token_endpoint": f"{authority}/token",
        "jwks_uri": f"{authority}/certs", "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"]}))
    page.route(f"{authority}/auth?*", authorize)
    page.route(f"{authority}/token", token)

    page.goto("/m/due")
    page.get_by_role("button", name="通过本县统一身份认证登录").tap()
    expect(page.get_by_role("heading", name="待办")).to_be_visible(timeout=20_000)

    asked, answered = seen["authorize"], seen["token"]
    assert asked["response_type"] == ["code"] and asked["code_challenge_method"] == ["S256"]
    assert asked["redirect_uri"] == [f"{gateway}/m/callback"]
    verifier = answered["code_verifier"][0]
    assert _b64url(hashlib.sha256(verifier.encode()).digest()) == asked["code_challenge"][0]
    assert answered["code"] == ["the-code"] and answered["grant_type"] == ["authorization_code"]
    stored = page.evaluate("localStorage.getItem('shouhu.dev-session')")
    assert access_token in stored   # signed in on the phone for the token's lifetime


def test_the_providers_token_is_renewed_before_it_expires_and_signing_out_forgets_the_phone(
        page: Page, gateway: str) -> None:
    """The provider (played by routes, as above) answers the code with a refresh token; told by
    /oidc.json to renew 3,595 s before a one-hour token expires, the app asks for a new token a
    few seconds after signing in, without a page of the provider, and goes on with it. 退出登录
    then leaves nothing of the session on the phone."""
    import jwt

    from shared.auth import AuthSettings, issue_dev_token

    first = teacher_token(gateway)
    claims = jwt.decode(first, options={"verify_signature": False})
    # The same teacher, another token (an hour shorter, so it cannot equal the first).
    renewed = issue_dev_token(AuthSettings(), subject=claims["sub"], roles=claims["roles"],
                              jurisdiction=claims["jurisdiction"], caregiver_id=claims.get("caregiver_id"),
                              school_id=claims.get("school_id"), ttl_seconds=7 * 3600)
    grants = play_identity_provider(page, gateway, client_id="shouhu-app", first=first, renewed=renewed, name="赵老师")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.headers.get("authorization", "")) if "/registry/" in r.url else None)

    page.goto("/m/")
    page.get_by_role("button", name="通过本县统一身份认证登录").tap()
    expect(page.get_by_role("heading", name="我的孩子")).to_be_visible(timeout=20_000)
    assert first in page.evaluate("localStorage.getItem('shouhu.dev-session')")
    # Nothing of the provider's user (the refresh token) in the browser's storage: memory only.
    stored = page.evaluate("JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert "refresh-1" not in stored

    page.wait_for_function(f"(localStorage.getItem('shouhu.dev-session') || '').includes('{renewed}')",
                           timeout=30_000)
    assert [g["grant_type"] for g in grants] == [["authorization_code"], ["refresh_token"]]
    assert grants[1]["refresh_token"] == ["refresh-1"]
    assert page.url == f"{gateway}/m/"  # no page of the provider: renewed in the background
    page.get_by_role("tab", name="待办").tap()
    expect(page.get_by_role("heading", name="待办")).to_be_visible()
    page.get_by_role("tab", name="我的孩子").tap()
    expect(page.get_by_test_id("child").first).to_be_visible()
    assert sent and sent[-1] == f"Bearer {renewed}"  # the services accept the renewed token

    page.get_by_test_id("sign-out").tap()
    page.get_by_role("button", name="退出登录").last.tap()  # the confirmation
    expect(page).to_have_url(re.compile(r"/m/sign-in"), timeout=20_000)
    assert page.evaluate("localStorage.getItem('shouhu.dev-session')") is None
    assert page.evaluate("localStorage.getItem('shouhu.oidc-id-token')") is None
    cached = page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open('shouhu-app');
        open.onsuccess = () => { const all = open.result.transaction('cache').objectStore('cache').count();
                                 all.onsuccess = () => resolve(all.result); };
    })""")
    assert cached == 0  # the children's cards kept for offline use are gone with the session

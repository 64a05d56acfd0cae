"""What the caregiver app's browser tests and its benchmark share: a phone-sized context, the
development sign-in as the demo county's teacher, the teacher's token for API checks, and a
photo too large to send as it is; and the tests' fixtures (a test module takes them by
assigning them: `page = phone_tests.page`), their screen check `look` and the words it refuses."""

from __future__ import annotations

import io
import random
from typing import Iterator

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.web.console import screenshot, serious_accessibility_violations

PHONE = {"width": 390, "height": 844}


def phone_context(browser: Browser, gateway: str) -> BrowserContext:
    return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                               locale="zh-CN", timezone_id="Asia/Shanghai", base_url=gateway,
                               service_workers="allow")


def teacher_token(gateway: str) -> str:
    people = httpx.get(f"{gateway}/dev-tokens.json", timeout=10).json()["people"]
    return next(p["token"] for p in people if p["key"] == "teacher")


def sign_in_as_teacher(page: Page) -> None:
    page.goto("/m/")
    page.locator("[data-person=teacher]").tap()
    expect(page.get_by_role("heading", name="我的孩子")).to_be_visible()
    expect(page.get_by_test_id("child").first).to_be_visible()


def wait_for_service_worker(page: Page) -> None:
    """The app's files are cached once the service worker controls the page."""
    page.evaluate("navigator.serviceWorker.ready")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("!!navigator.serviceWorker.controller", timeout=20_000)


def large_photo() -> bytes:
    """A 2400×1800 photograph-like JPEG of well over 300 KB (noise compresses badly)."""
    rng = random.Random(7)
    image = Image.new("RGB", (2400, 1800))
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(2400 * 1800 // 16)] * 16)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95)
    return out.getvalue()


def outbox_ids(page: Page) -> list[str]:
    """The ids of the records waiting on the phone, in the order they will be sent."""
    return page.evaluate("""() => new Promise((resolve, reject) => {
        const open = indexedDB.open('shouhu-app');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
            const all = open.result.transaction('outbox').objectStore('outbox').index('by_seq').getAll();
            all.onsuccess = () => resolve(all.result.map(r => r.id));
        };
    })""")


# Words that label a child; none may appear on a screen a child or a neighbour might glimpse.
LABELS = ("留守", "困境", "孤儿", "事实无人抚养", "残疾儿童", "流动儿童")


@pytest.fixture
def page(browser: Browser, gateway: str) -> Iterator[Page]:
    context = phone_context(browser, gateway)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()
    assert not problems, f"JavaScript errors on the page: {problems}"


@pytest.fixture(scope="module")
def api(gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway, headers={"Authorization": f"Bearer {teacher_token(gateway)}"},
                      timeout=20) as client:
        yield client


def look(page: Page, name: str) -> None:
    """Photograph the screen, check it with axe-core, and check it labels no child."""
    screenshot(page, f"app-{name}")
    violations = serious_accessibility_violations(page)
    assert not violations, violations
    text = page.locator("body").inner_text()
    assert not [word for word in LABELS if word in text], text

"""What the caregiver app's browser tests and its benchmark share: a phone-sized context, the
development sign-in as the demo county's teacher, the teacher's token for API checks, and a
photo too large to send as it is."""

from __future__ import annotations

import io
import random

import httpx
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

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

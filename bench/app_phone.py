"""The caregiver app (/m/) on a phone with weak signal, in Debian's chromium against a real
stack (its own, started by `scripts/stack up` with a 40-child demo county, unless
SHOUHU_APP_BENCH_GATEWAY names one that is up):

- opening: a signed-in teacher opens the app with an empty cache over a throttled link (CDP
  Network.emulateNetworkConditions: 1.6 Mbit/s down, 750 kbit/s up, 150 ms) until 我的孩子
  lists the children; goal ≤ 2 s;
- first-route JavaScript: every script that opening loads, gzipped as the gateway serves it;
  goal ≤ 200 KB;
- sync: 50 records made without signal, then the signal returns: time until the outbox is
  empty; goal ≤ 10 s, and each record is on the server exactly once.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.common import Goal, infrastructure, rule
from tests.web.app import outbox_ids, phone_context, sign_in_as_teacher, teacher_token, wait_for_service_worker
from tests.web.console import CHROMIUM

THROTTLED = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}


@contextmanager
def gateway() -> Iterator[str]:
    if os.environ.get("SHOUHU_APP_BENCH_GATEWAY"):
        yield os.environ["SHOUHU_APP_BENCH_GATEWAY"]
        return
    from tests.support import stack_up
    env = stack_up.stack_env(infrastructure(), Path(tempfile.mkdtemp(prefix="bench-app-")), children=40)
    print("  starting a stack of its own (scripts/stack up)…", flush=True)
    with stack_up.running_stack(env):
        yield f"http://127.0.0.1:{env['SHOUHU_GATEWAY_PORT']}"


def open_cold(browser: Browser, base: str, token: str) -> tuple[float, list[str]]:
    """Seconds from navigation to 我的孩子 with its children, and the scripts that took."""
    context = phone_context(browser, base)
    # Signed in already (the token the sign-in would keep): the figure is the app's opening.
    context.add_init_script(f"localStorage.setItem('shouhu.dev-session', JSON.stringify({{token: {token!r}}}))")
    page = context.new_page()
    scripts: list[str] = []
    page.on("response", lambda r: scripts.append(r.url) if r.request.resource_type == "script" else None)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", THROTTLED)
    started = time.perf_counter()
    page.goto("/m/", wait_until="commit")
    expect(page.get_by_role("heading", name="我的孩子")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("child").first).to_be_visible(timeout=30_000)
    elapsed = time.perf_counter() - started
    context.close()
    return elapsed, scripts


def gzipped_kb(urls: list[str]) -> float:
    total = 0
    for url in dict.fromkeys(urls):
        # The bytes on the wire (iter_raw: before httpx decodes the gzip).
        with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}, timeout=10) as response:
            total += sum(len(chunk) for chunk in response.iter_raw())
    return total / 1024


def record_offline(page: Page, children: list[dict], count: int) -> list[str]:
    page.get_by_role("tab", name="记录").tap()
    expect(page.get_by_test_id("record-child").first).to_be_visible()
    page.context.set_offline(True)
    kinds = ["home_visit", "talk", "parent_call", "letter", "activity"]
    for n in range(count):
        page.get_by_test_id("record-child").filter(has_text=children[n % len(children)]["name"]).tap()
        page.locator(f"[data-kind={kinds[n % len(kinds)]}]").tap()
        page.get_by_test_id("confirm").tap()
        expect(page.get_by_test_id("waiting-record")).to_have_count(n + 1)
    return outbox_ids(page)


def main(_: argparse.Namespace | None = None) -> list[Goal]:
    rule("caregiver app on a phone (chromium, 390×844)")
    goals: list[Goal] = []
    with gateway() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        token = teacher_token(base)
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=20)
        open_cold(browser, base, token)  # the stack's first answers (connection pools) are not the app's
        seconds, scripts = open_cold(browser, base, token)
        print(f"  opening to 我的孩子, cold cache, 1.6 Mbit/s ↓ 750 kbit/s ↑ 150 ms: {seconds:.2f} s")
        goals.append(Goal("app opens to 我的孩子 (throttled, cold)", seconds, "<=", 2.0, " s"))
        kb = gzipped_kb(scripts)
        print(f"  JavaScript of the first route: {len(set(scripts))} files, {kb:.1f} KiB gzipped")
        goals.append(Goal("app first-route JavaScript (gzipped)", kb, "<=", 200, " KiB"))

        children = api.get("/registry/v1/me/children").json()["items"]
        before = {c["id"] for child in children
                  for c in api.get(f"/visits/v1/children/{child['id']}/contacts", params={"limit": 500}).json()["items"]}
        context = phone_context(browser, base)
        page = context.new_page()
        sign_in_as_teacher(page)
        wait_for_service_worker(page)
        ids = record_offline(page, children, 50)
        context.set_offline(False)
        started = time.perf_counter()
        page.evaluate("window.dispatchEvent(new Event('online'))")
        expect(page.get_by_test_id("waiting-record")).to_have_count(0, timeout=120_000)
        synced = time.perf_counter() - started
        after = [c["id"] for child in children
                 for c in api.get(f"/visits/v1/children/{child['id']}/contacts", params={"limit": 500}).json()["items"]
                 if c["id"] not in before]
        duplicates = len(after) - len(set(after)) + len(set(after) ^ set(ids))
        print(f"  50 records made offline, sent when the signal returned: {synced:.2f} s; "
              f"{len(set(after) & set(ids))} arrived, {duplicates} duplicate or missing")
        goals.append(Goal("app syncs 50 queued records", synced, "<=", 10.0, " s"))
        goals.append(Goal("app records duplicated or lost", duplicates, "<=", 0))
        context.close()
        browser.close()
    for goal in goals:
        print("  " + goal.line())
    return goals


if __name__ == "__main__":
    main(argparse.ArgumentParser(prog="python -m bench.app_phone").parse_args())

"""The staff console's dashboard (工作台) from a cold cache, in Debian's chromium against a real
stack on loopback (its own, started by `scripts/stack up` with the stack's demo county of
2,000 children, unless SHOUHU_CONSOLE_BENCH_GATEWAY names one that is up):

- first meaningful render: a signed-in county officer (the development sign-in's token,
  kept in sessionStorage as the sign-in keeps it) opens `/` in a new browser context with the
  cache disabled (CDP Network.setCacheDisabled), 1366×768, no throttling. Measured in the
  page, from navigation start (performance.timeOrigin) to the first animation frame where
  the dashboard is drawn with its data: the loading mask gone, the eight figures of
  [data-testid=figures] present with every figure showing a number, and the three charts
  (`.chart`) each holding a canvas and `data-drawn="true"` (ECharts' `finished` after
  setOption with the loaded data). Median of `--runs` (default 7), after one unmeasured run
  (the stack's first answers warm its connection pools, not the console). Goal ≤ 1.5 s.
- baselines, same browser, same run: (a) a blank static page: the console's favicon.svg
  from the gateway's static location, new context, cache disabled, navigation start →
  load event; (b) the dashboard's API calls made directly: the very requests the last
  dashboard run sent to /registry, /pairing, /visits (captured), replayed with httpx on six
  keep-alive connections (a browser's per-host limit), all at once, start → last answer.
  The ratios dashboard / (a) and dashboard / (b) say what the console adds on top of the
  network and the APIs.
- first-route JavaScript: every script the dashboard's load fetched, as built in web/dist
  (the stack's copy is built from the worktree), gzipped at nginx's level (6, deploy/compose/
  nginx.conf); goal ≤ 350 KB (KiB printed). The bytes the gateway sent are printed beside.

Run: `python -m bench.console_dashboard [--runs N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, sync_playwright

from bench.common import Goal, infrastructure, rule
from tests.support.processes import REPO
from services.demo import COUNTY
from shared.auth import issue_dev_token
from shared.settings import AuthSettings
from tests.web.console import CHROMIUM, DESK

GOAL_S, GOAL_KB = 1.5, 350
LAST_SPANS: list[float] = []  # the last measured run's first API request and last API answer, ms
DIST = REPO / "web" / "dist"
APIS = ("/registry/", "/pairing/", "/visits/", "/notify/", "/reports/")
# The dashboard drawn with its data (see the module's docstring); answers performance.now().
RENDERED = """() => {
  if (document.querySelector('.el-loading-mask')) return false;
  const figures = [...document.querySelectorAll('[data-testid=figures] .figure')];
  if (figures.length < 8 || figures.some((f) => !/\\d/.test(f.textContent))) return false;
  const charts = [...document.querySelectorAll('.chart')];
  if (charts.length < 3 || charts.some((c) => c.dataset.drawn !== 'true' || !c.querySelector('canvas'))) return false;
  return performance.now();
}"""


@contextmanager
def gateway(children: int) -> Iterator[str]:
    if os.environ.get("SHOUHU_CONSOLE_BENCH_GATEWAY"):
        yield os.environ["SHOUHU_CONSOLE_BENCH_GATEWAY"]
        return
    from tests.support import stack_up
    env = stack_up.stack_env(infrastructure(), Path(tempfile.mkdtemp(prefix="bench-console-")), children=children)
    print(f"  starting a stack of its own (scripts/stack up, {children:,} demo children)…", flush=True)
    with stack_up.running_stack(env):
        yield f"http://127.0.0.1:{env['SHOUHU_GATEWAY_PORT']}"


def cold_context(browser: Browser, base: str):
    context = browser.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=base)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    return context, page


def open_dashboard(browser: Browser, base: str, token: str) -> tuple[float, list[str], list[dict]]:
    """Seconds from navigation start to the drawn dashboard, the scripts and the API requests."""
    context, page = cold_context(browser, base)
    # Signed in already, as the development sign-in leaves the tab: the figure is the console's.
    context.add_init_script(
        f"sessionStorage.setItem('shouhu.dev-session', JSON.stringify({{token: {token!r}, label: 'bench'}}))")
    scripts: list[str] = []
    calls: list[dict] = []
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda r: scripts.append(r.url) if r.request.resource_type == "script" else None)
    page.on("request", lambda r: calls.append({"method": r.method, "url": r.url, "headers": r.headers,
                                               "body": r.post_data})
            if urlsplit(r.url).path.startswith(APIS) else None)
    finished: list = []
    page.on("requestfinished", lambda r: finished.append(r) if urlsplit(r.url).path.startswith(APIS) else None)
    page.goto("/", wait_until="commit")
    at_ms = page.wait_for_function(RENDERED, polling="raf", timeout=60_000).json_value()
    origin = page.evaluate("performance.timeOrigin")
    # Where the time went: when the first API request left and the last answer arrived
    # (ms since navigation start; Playwright's timing is relative to each request's start).
    spans = [(r.timing["startTime"] - origin, r.timing["startTime"] - origin + r.timing["responseEnd"])
             for r in finished]
    context.close()
    if errors:
        raise SystemExit(f"bench: JavaScript errors on the dashboard: {errors}")
    if spans:
        LAST_SPANS[:] = [min(a for a, _ in spans), max(b for _, b in spans)]
    return at_ms / 1000, scripts, calls


def blank_page(browser: Browser, base: str) -> float:
    """Navigation start → load event of a static file from the gateway, cold."""
    context, page = cold_context(browser, base)
    page.goto("/favicon.svg", wait_until="load")
    ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    context.close()
    return ms / 1000


async def replay(calls: list[dict]) -> float:
    """The dashboard's API requests sent directly, six connections, all at once."""
    limits = httpx.Limits(max_connections=6, max_keepalive_connections=6)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def one(call: dict) -> None:
            headers = {k: v for k, v in call["headers"].items() if k.lower() in ("authorization", "content-type")}
            response = await client.request(call["method"], call["url"], headers=headers, content=call["body"])
            response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(call) for call in calls))
        return time.perf_counter() - started


def first_route_kb(scripts: list[str]) -> tuple[float, float, int]:
    """KiB of the scripts gzipped from web/dist at nginx's level, and as the gateway sent them."""
    built = sent = 0
    paths = list(dict.fromkeys(urlsplit(url).path for url in scripts))
    for path in paths:
        file = DIST / path.lstrip("/")
        if not file.is_file():
            raise SystemExit(f"bench: {path} is not in web/dist (build it: cd web && npm run build)")
        built += len(gzip.compress(file.read_bytes(), compresslevel=6))
    for url in dict.fromkeys(scripts):
        with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}, timeout=10) as response:
            sent += sum(len(chunk) for chunk in response.iter_raw())
    return built / 1024, sent / 1024, len(paths)


def main(runs: int, children: int) -> list[Goal]:
    rule(f"staff console dashboard, cold cache, loopback (chromium, 1366×768), median of {runs}")
    goals: list[Goal] = []
    with gateway(children) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        # The development sign-in's county officer (scripts/stack's dev-tokens.json), minted here.
        token = issue_dev_token(AuthSettings(), subject="demo-county_officer", roles=["county_staff"],
                                jurisdiction=COUNTY, permissions=["view_sensitive"])
        open_dashboard(browser, base, token)  # the stack's first answers (connection pools) are not the console's
        blank_page(browser, base)
        dashboard_s, blank_s, api_s = [], [], []
        scripts: list[str] = []
        calls: list[dict] = []
        for _ in range(runs):  # interleaved, so a busy moment on the machine hits all three alike
            seconds, scripts, calls = open_dashboard(browser, base, token)
            dashboard_s.append(seconds)
            blank_s.append(blank_page(browser, base))
            # Its own thread: Playwright's sync API keeps an event loop running in this one.
            with ThreadPoolExecutor(1) as thread:
                api_s.append(thread.submit(asyncio.run, replay(calls)).result())
        browser.close()
        # While the stack is up: the bytes the gateway sends are measured from it.
        built_kb, sent_kb, files = first_route_kb(scripts)
    dashboard, blank, api = (statistics.median(v) for v in (dashboard_s, blank_s, api_s))
    print(f"  dashboard drawn with data : median {dashboard * 1000:7.0f} ms  "
          f"(runs: {', '.join(f'{s * 1000:.0f}' for s in dashboard_s)})")
    duty_pages = sum(1 for c in calls if "/visits/v1/duties" in c["url"])
    if LAST_SPANS:
        print(f"  last run: first API request at {LAST_SPANS[0]:.0f} ms (scripts loaded, dashboard mounted), last"
              f" answer at {LAST_SPANS[1]:.0f} ms; {duty_pages} requests for duty lists")
    print(f"  (a) blank static page     : median {blank * 1000:7.0f} ms  → dashboard / blank = {dashboard / blank:.1f}×")
    print(f"  (b) its {len(calls)} API calls direct: median {api * 1000:7.0f} ms  → dashboard / API calls = "
          f"{dashboard / api:.1f}×")
    goals.append(Goal("console dashboard first meaningful render (cold, median)", dashboard, "<=", GOAL_S, " s"))
    print(f"  JavaScript of the first route: {files} files, {built_kb:.1f} KiB gzipped from web/dist "
          f"(level 6; the gateway sent {sent_kb:.1f} KiB)")
    goals.append(Goal("console first-route JavaScript (gzipped)", built_kb, "<=", GOAL_KB, " KiB"))
    for goal in goals:
        print("  " + goal.line(), flush=True)
    return goals


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.console_dashboard", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--children", type=int, default=2000, help="demo children of its own stack (default 2,000)")
    parsed = parser.parse_args()
    main(parsed.runs, parsed.children)

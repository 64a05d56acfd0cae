"""What the browser tests of the staff console share: Debian's chromium driven by Playwright,
screenshots kept as artefacts, and axe-core's accessibility check."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page

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

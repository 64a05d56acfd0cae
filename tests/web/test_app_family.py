"""The caregiver app's 家书 screen (issue #19, item 5) in Debian's chromium at phone size
against the real stack: the demo teacher opens a child's card, goes to 家书, records that the
child's parent working away agreed to receive messages, writes a note that the county's word list refuses
(the word is named on the screen), rewrites it and sends it; the note is listed with its
state, and the server holds it addressed to the parent's entry."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import Page, expect

from tests.web import app as phone_tests
from tests.web.app import sign_in_as_teacher
from tests.web.console import screenshot, serious_accessibility_violations


# The phone-sized page and the teacher's API client of the app's tests (fixtures, tests/web/app.py).
page = phone_tests.page
api = phone_tests.api


def _paired_here(api: httpx.Client, child_id: str, timeout_s: float = 60) -> None:
    """Until notify has seen the pairing (pairing's event, through Kafka): bounded."""
    deadline = time.monotonic() + timeout_s
    while api.get(f"/notify/v1/children/{child_id}/family-consents").status_code != 200:
        assert time.monotonic() < deadline, "notify never saw the teacher's pairing"
        time.sleep(0.5)


def test_the_teacher_writes_a_monthly_note_to_a_migrant_parent(page: Page, api) -> None:
    children = api.get("/registry/v1/me/children").json()["items"]
    # The demo county's parents are fathers working away: the migrant parent here is one.
    child = next(c for c in children if any(p["phone"] and p["id"] for p in c["parents"]))
    parent = next(p for p in child["parents"] if p["phone"] and p["id"])
    _paired_here(api, child["id"])

    sign_in_as_teacher(page)
    page.get_by_test_id("child").filter(has_text=child["name"]).tap()
    page.get_by_text("家书", exact=True).tap()
    expect(page.get_by_role("heading", name=f"给{child['name']}的家人写几句")).to_be_visible()
    row = page.get_by_test_id("member").filter(has_text=parent["name"])
    if row.get_by_role("button", name="记录同意").count():
        row.get_by_role("button", name="记录同意").tap()
    expect(row).to_contain_text("已同意")
    expect(page.get_by_role("radio")).not_to_have_count(0)

    text = page.get_by_test_id("note-text").locator("textarea")
    text.fill("这个留守的孩子最近很乖")
    page.get_by_test_id("send").tap()
    expect(page.get_by_test_id("words")).to_contain_text("留守")
    assert not [n for n in api.get(f"/notify/v1/children/{child['id']}/family-notes").json()["items"]
                if "留守" in (n["text"] or "")]

    note = "您好，孩子这个月按时完成作业，数学进步了，请您放心。"
    text.fill(note)
    page.get_by_test_id("send").tap()
    expect(page.get_by_test_id("message")).to_contain_text("发出")
    expect(page.get_by_test_id("sent-note").first).to_contain_text(note)
    screenshot(page, "app-family-note")
    violations = serious_accessibility_violations(page)
    assert not violations, violations

    [sent] = [n for n in api.get(f"/notify/v1/children/{child['id']}/family-notes").json()["items"]
              if n["text"] == note][:1]
    assert sent["member_id"] == parent["id"] and sent["member_kind"] == "parent"

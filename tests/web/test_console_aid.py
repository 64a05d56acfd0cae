"""资助项目 in a real browser against a real stack (the fixtures of test_console.py): a 书包
distribution to 150 children from one list. The county registers a new school with 150
children (through the registry's API; pairing learns them from its events); the township
clerk creates the programme for that school, draws the list from the cohort, reviews it
(every child named), confirms it with the receipt sheet's number, and reads the ledger."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.registry.helpers import national_id
from tests.web import test_console
from tests.web.console import dev_token, screenshot, until
from tests.web.test_console import sign_in

page = test_console.page  # the desk-sized, zh-CN page of the console's tests (a fixture)

COUNTY = "520424000000"
TOWNSHIP = "520424002000"   # 顶云街道, the demo clerk's township
VILLAGE = "520424002001"    # 八角社区
CHILDREN = 150


def a_school_with_150_children(gateway: str) -> str:
    """A new school of the clerk's township and 150 children enrolled there, all known to pairing."""
    county = {"Authorization": f"Bearer {dev_token(gateway, 'county_officer')}"}
    clerk = {"Authorization": f"Bearer {dev_token(gateway, 'township_clerk')}"}
    name = f"书包小学{uuid.uuid4().hex[:4]}"
    school = httpx.post(f"{gateway}/registry/v1/schools", headers=county, timeout=20, json={
        "name": name, "township_code": TOWNSHIP, "stage": "primary"})
    assert school.status_code == 201, school.text
    school_id = school.json()["id"]
    last = ""
    with httpx.Client(timeout=20) as client:
        for number in range(CHILDREN):
            born = date(2015, 1, 1) + timedelta(days=number * 7)
            for _attempt in range(5):  # a synthetic ID the demo county already holds: another one
                child = client.post(f"{gateway}/registry/v1/children", headers=clerk, json={
                    "name": "书包" + "一二三四五六七八九十"[number % 10] + "一二三四五六七八九十"[number // 10 % 10],
                    "gender": "female", "birth_date": born.isoformat(),
                    "national_id": national_id(born, "female", region="520424", sequence=uuid.uuid4().int % 100),
                    "jurisdiction": {"county_code": COUNTY, "township_code": TOWNSHIP, "village_code": VILLAGE},
                    "school_id": school_id, "categories": ["left_behind"]})
                if child.status_code != 409:
                    break
            assert child.status_code == 201, child.text
            last = child.json()["id"]
    until(lambda: httpx.get(f"{gateway}/pairing/v1/children/{last}", headers=clerk, timeout=10).status_code == 200,
          "the pairing service knows the 150th child", timeout_s=90)
    return name


def field(page: Page, test_id: str):
    """The input of an Element Plus field, whether the test id sits on it or on its wrapper."""
    return page.get_by_test_id(test_id).locator("xpath=descendant-or-self::input").first


def test_a_school_bag_distribution_to_150_children_from_one_list(page: Page, gateway: str) -> None:
    school = a_school_with_150_children(gateway)
    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="结对帮扶").click()
    page.get_by_role("tab", name="资助项目").click()

    programme = f"书包发放{uuid.uuid4().hex[:4]}"
    page.get_by_test_id("aid-new").click()
    field(page, "aid-name").fill(programme)
    field(page, "aid-fund").fill("县慈善总会")
    field(page, "aid-item").fill("书包")
    field(page, "aid-amount").fill("80")
    field(page, "aid-amount").press("Tab")  # the number is taken on change
    field(page, "aid-budget").fill("12000")
    field(page, "aid-budget").press("Tab")  # the number is taken on change
    page.get_by_test_id("aid-schools").click()
    page.get_by_role("option", name=school).click()
    page.keyboard.press("Escape")
    page.get_by_test_id("aid-create").click()
    expect(page.get_by_test_id("aid-cohort")).to_contain_text(school)

    page.get_by_test_id("aid-draft").click()
    summary = page.get_by_test_id("aid-list-summary")
    expect(summary).to_contain_text("共 150人，合计 12,000.00元")
    expect(summary).to_contain_text("待确认")
    rows = page.get_by_test_id("aid-rows").locator(".el-table__body tr")
    expect(rows).to_have_count(CHILDREN)
    expect(page.get_by_test_id("aid-rows")).not_to_contain_text("…")  # every row named by the registry
    expect(page.get_by_test_id("aid-rows")).to_contain_text(school)
    screenshot(page, "60-aid-list")

    page.get_by_test_id("aid-confirm").click()
    field(page, "aid-receipt").fill("QS-2026-001")
    page.get_by_test_id("aid-confirm-ok").click()
    expect(summary).to_contain_text("已发放，签收单编号 QS-2026-001")
    ledger = page.get_by_test_id("aid-ledger").locator(".el-table__body tr", has_text=programme)
    expect(ledger).to_contain_text("150人")
    expect(ledger).to_contain_text("12,000.00元")
    programmes = page.get_by_test_id("aid-programmes").locator(".el-table__body tr", has_text=programme)
    expect(programmes).to_contain_text("0.00元")  # nothing left of the budget
    screenshot(page, "61-aid-ledger")

    # Once per term: a second list from the same cohort has nobody left.
    page.get_by_test_id("aid-draft").click()
    expect(page.get_by_test_id("aid-failure")).to_be_visible()

    # The work summary's figures: the 150 bags under the programme (reports, from the events).
    clerk = {"Authorization": f"Bearer {dev_token(gateway, 'township_clerk')}"}
    listed = httpx.get(f"{gateway}/pairing/v1/aid-programmes", headers=clerk, params={"limit": 200}, timeout=10)
    programme_id = next(p["id"] for p in listed.json()["items"] if p["name"] == programme)
    # the day the list was given (the console's today, in the browser's zone, may be the county's tomorrow in UTC)
    lists = httpx.get(f"{gateway}/pairing/v1/aid-programmes/{programme_id}/lists", headers=clerk, timeout=10)
    given_on = lists.json()["items"][0]["given_on"]

    def bags_in_the_summary() -> dict | None:
        summary = httpx.get(f"{gateway}/reports/v1/summary", headers=clerk, timeout=30, params={
            "from": given_on, "to": given_on})
        assert summary.status_code == 200, summary.text
        found = [a for a in summary.json()["aid_by_programme"] if a["programme_id"] == programme_id]
        return found[0] if found and found[0]["records"] == 150 else None  # events still arriving: ask again
    aid = until(bags_in_the_summary, "the work summary counts the programme's 150 bags", timeout_s=60)
    assert (aid["children"], aid["records"], aid["amount_fen"]) == (150, 150, 1_200_000)

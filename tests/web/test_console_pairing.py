"""结对帮扶 in a real browser against a real stack (the fixtures of test_console.py): a township
clerk reads the unpaired queue (priority first) and the caregivers' load, has pairings
proposed and accepts them one by one and then all, and reads the support totals."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.registry.helpers import national_id
from tests.web.console import dev_token, screenshot, until
from tests.web import test_console
from tests.web.test_console import check_accessibility, sign_in

page = test_console.page  # the desk-sized, zh-CN page of the console's tests (a fixture)

TOWNSHIP = "520424002000"   # 顶云街道, the demo clerk's township
VILLAGE = "520424002001"    # 八角社区


def a_waiting_child_and_a_caregiver_with_room(gateway: str) -> tuple[str, str]:
    """A priority child of 八角社区 new to the stack, and a 爱心妈妈 of the same village with two
    free places (the demo's teachers are full), both known to the pairing service."""
    headers = {"Authorization": f"Bearer {dev_token(gateway, 'township_clerk')}"}
    born = date(2014, 1, 1) + timedelta(days=uuid.uuid4().int % 3000)
    name = "韦" + "子涵思远可欣"[uuid.uuid4().int % 5:][:2]
    child = httpx.post(f"{gateway}/registry/v1/children", headers=headers, timeout=20, json={
        "name": name, "gender": "male", "birth_date": born.isoformat(),
        "national_id": national_id(born, "male", region="520424", sequence=uuid.uuid4().int % 100),
        "jurisdiction": {"county_code": "520424000000", "township_code": TOWNSHIP, "village_code": VILLAGE},
        "categories": ["left_behind"], "priority": True, "priority_reason": "独自在家"})
    assert child.status_code == 201, child.text
    mother = "蒙" + uuid.uuid4().hex[:4]
    caregiver = httpx.post(f"{gateway}/pairing/v1/caregivers", headers=headers, timeout=20, json={
        "kind": "caring_mother", "name": mother, "capacity": 2,
        "jurisdiction": {"county_code": "520424000000", "township_code": TOWNSHIP, "village_code": VILLAGE}})
    assert caregiver.status_code == 201, caregiver.text
    child_id = child.json()["id"]
    until(lambda: httpx.get(f"{gateway}/pairing/v1/children/{child_id}", headers=headers, timeout=10).status_code == 200,
          "the pairing service knows the new child")
    return name, mother


def test_township_clerk_pairs_the_waiting_children_from_proposals(page: Page, gateway: str) -> None:
    child, mother = a_waiting_child_and_a_caregiver_with_room(gateway)
    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="结对帮扶").click()
    expect(page.get_by_role("heading", name="结对帮扶")).to_be_visible()
    expect(page.get_by_test_id("unpaired-total")).to_contain_text(re.compile(r"待结对 \d[\d,]*人"))
    queue = page.get_by_test_id("unpaired").locator(".el-table__body tr")
    expect(queue.first).to_contain_text("重点关注")  # priority children first
    expect(page.get_by_test_id("unpaired")).to_contain_text(child)
    expect(page.get_by_test_id("unpaired")).not_to_contain_text("…")  # every row named
    screenshot(page, "30-pairing-queue")
    check_accessibility(page)

    page.get_by_role("tab", name="帮扶人及负荷").click()
    caregivers = page.get_by_test_id("caregivers")
    expect(caregivers.locator(".el-table__body tr", has_text=mother)).to_contain_text("2人")
    screenshot(page, "31-pairing-caregivers")
    check_accessibility(page)

    page.get_by_role("tab", name="匹配建议").click()
    page.get_by_test_id("propose").click()
    expect(page.get_by_test_id("proposal-summary")).to_contain_text("建议结对")
    items = page.get_by_test_id("proposal-items")
    ours = items.locator(".el-table__body tr", has_text=child)
    expect(ours).to_contain_text(mother)  # the caregiver of the child's own village, with room
    expect(ours).to_contain_text("同村")
    screenshot(page, "32-pairing-proposals")
    check_accessibility(page)

    ours.get_by_role("button", name="接受").click()
    expect(ours).to_contain_text("已结对")
    accept_all = page.get_by_test_id("accept-all")
    if accept_all.is_enabled():
        accept_all.click()
    expect(accept_all).to_be_disabled()
    expect(page.get_by_test_id("proposal-summary")).to_contain_text("待确认 0人")
    screenshot(page, "33-pairing-accepted")

    # The child has left the queue; the caregiver carries one more.
    page.get_by_role("tab", name="待结对儿童").click()
    expect(page.get_by_test_id("unpaired")).not_to_contain_text(child)
    page.get_by_role("tab", name="帮扶人及负荷").click()
    expect(caregivers.locator(".el-table__body tr", has_text=mother).locator("td").nth(4)).not_to_have_text("0人")

    page.get_by_role("tab", name="物资帮扶统计").click()
    expect(page.get_by_test_id("support-total")).to_contain_text(re.compile(r"共 \d[\d,]*笔"))
    screenshot(page, "34-pairing-support")
    check_accessibility(page)

"""Casework in the console, in a real browser against a real stack (the fixtures of
test_console.py): a mandatory report followed to closure — the township clerk refers it to
the agency named when it was acknowledged; the county officer records the agency's
acceptance with its case number and a follow-up note, reads the whole record stating why,
downloads the 强制报告登记表 (PDF) and closes the case with its outcome — and a safety
lecture for a class recorded once, its children picked from the registry a class at a time
and counted by type with the others who came."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.web.console import choose, click_item, dev_token, screenshot, until
from tests.web import test_console
from tests.web.test_console import check_accessibility, sign_in

page = test_console.page  # the desk-sized, zh-CN page of the console's tests (a fixture)
CASE_NUMBER = "顶公（刑）受案字〔2026〕0457号"


def a_mandatory_report(gateway: str) -> tuple[str, str, str]:
    """The demo teacher records a talk with the last of their children and a suspected abuse
    that must be reported; the township clerk acknowledges it, naming where it is to go.
    Returns the concern, the child's name and the agency's name."""
    teacher = {"Authorization": f"Bearer {dev_token(gateway, 'teacher')}"}
    clerk = {"Authorization": f"Bearer {dev_token(gateway, 'township_clerk')}"}
    pairings = httpx.get(f"{gateway}/pairing/v1/me/pairings", headers=teacher, timeout=10).json()["items"]
    last = pairings[-1]
    contact = httpx.post(f"{gateway}/visits/v1/contacts", headers=teacher, timeout=20, json={
        "child_id": last["child_id"], "caregiver_id": last["caregiver_id"], "kind": "talk",
        "occurred_at": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(),
        "concerns": [{"category": "suspected_abuse", "severity": "urgent", "detail": "手臂有多处淤青，孩子说是继父打的"}]})
    assert contact.status_code == 201, contact.text
    [concern_id] = contact.json()["concern_ids"]
    until(lambda: httpx.get(f"{gateway}/visits/v1/concerns/{concern_id}", headers=clerk, timeout=10).status_code == 200,
          "visits has the concern open for the township")
    concern = httpx.get(f"{gateway}/visits/v1/concerns/{concern_id}", headers=clerk, timeout=10).json()
    county = concern["township_code"][:6] + "000000"
    agency = httpx.get(f"{gateway}/visits/v1/concern-agencies", params={"county_code": county}, headers=clerk,
                       timeout=10).json()["items"][0]
    ack = httpx.post(f"{gateway}/visits/v1/concerns/{concern_id}/acknowledgement", headers=clerk, timeout=10,
                     json={"referred_to": [agency["code"]], "note": "已电话联系监护人"})
    assert ack.status_code == 200, ack.text
    name = httpx.post(f"{gateway}/registry/v1/children/names", headers=clerk, timeout=10,
                      json={"ids": [last["child_id"]]}).json()["names"][last["child_id"]]
    return concern_id, name, agency["name"]


def test_a_mandatory_report_is_followed_to_closure(page: Page, gateway: str, tmp_path: Path) -> None:
    concern_id, child, agency = a_mandatory_report(gateway)

    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="关注事项").click()
    concerns = page.get_by_test_id("concerns")
    row = concerns.locator(".el-table__body tr", has_text=child).filter(has_text="已确认").first
    row.get_by_role("button", name="转介").click()
    box = page.get_by_role("dialog", name="转介")
    expect(box.locator(".el-select")).to_contain_text(agency)  # named at acknowledgement: chosen already
    box.get_by_test_id("concern-confirm").click()
    expect(box).to_be_hidden()
    row = concerns.locator(".el-table__body tr", has_text=child).filter(has_text="已转介").first
    expect(row).to_contain_text(agency)
    screenshot(page, "60-case-referred")
    page.get_by_role("button", name="退出登录").click()

    sign_in(page, "county_officer")
    page.get_by_role("menuitem", name="关注事项").click()
    row = page.get_by_test_id("concerns").locator(".el-table__body tr", has_text=child).filter(has_text="已转介").first
    row.get_by_role("button", name="办理").click()
    drawer = page.get_by_role("dialog", name=f"案件办理：{child}")
    expect(drawer.get_by_test_id("case-facts")).to_contain_text("已转介")
    expect(drawer.get_by_test_id("case-referrals")).to_contain_text("待受理")

    # The agency accepted it under its own number: refused without one, then recorded.
    accept = drawer.get_by_test_id("case-accept")
    drawer.get_by_test_id("case-accept-save").click()
    expect(accept.locator(".el-form-item__error")).to_be_visible()
    accept.get_by_role("textbox", name="受理编号").fill(CASE_NUMBER)
    drawer.get_by_test_id("case-accept-save").click()
    expect(drawer.get_by_test_id("case-referrals")).to_contain_text(CASE_NUMBER)
    expect(drawer.get_by_test_id("case-facts")).to_contain_text("已受理")

    # A dated follow-up note starts the follow-up; its text shows to those who say why.
    drawer.get_by_role("textbox", name="跟进情况").fill("派出所已询问继父，孩子暂住外婆家")
    drawer.get_by_test_id("case-note-save").click()
    expect(drawer.get_by_test_id("case-facts")).to_contain_text("跟进中")
    expect(drawer.get_by_test_id("case-notes")).to_contain_text("说明原因后显示内容")
    drawer.get_by_test_id("case-reveal").click()
    prompt = page.get_by_role("dialog", name="说明原因")
    prompt.get_by_role("textbox").fill("向派出所移送材料")
    prompt.get_by_role("button", name="确定").click()
    expect(drawer.get_by_test_id("case-notes")).to_contain_text("孩子暂住外婆家")
    expect(drawer.get_by_test_id("case-facts")).to_contain_text("疑似受到侵害")
    screenshot(page, "61-case-following-up")
    check_accessibility(page)

    # The 强制报告登记表 for the agency, as a PDF.
    with page.expect_download() as download:
        drawer.get_by_test_id("case-form-pdf").click()
    saved = tmp_path / "form.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes()[:5] == b"%PDF-" and download.value.suggested_filename.endswith(".pdf")

    # Closed with its outcome; the history shows every step.
    choose(page, drawer.get_by_test_id("case-close"), "结案结果", "已落实保护措施")
    drawer.get_by_test_id("case-close-save").click()
    expect(drawer.get_by_test_id("case-facts")).to_contain_text("已结案")
    expect(drawer.get_by_test_id("case-facts")).to_contain_text("已落实保护措施")
    history = drawer.get_by_test_id("case-history")
    for state in ("已确认", "已转介", "已受理", "跟进中", "已结案"):
        expect(history).to_contain_text(state)
    expect(drawer.get_by_test_id("case-close")).to_have_count(0)
    screenshot(page, "62-case-closed")
    officer = {"Authorization": f"Bearer {dev_token(gateway, 'county_officer')}"}
    stored = httpx.get(f"{gateway}/visits/v1/concerns/{concern_id}", headers=officer, timeout=10).json()
    assert stored["status"] == "closed" and stored["referrals"][0]["case_number"] == CASE_NUMBER


def test_a_safety_lecture_for_a_class_is_recorded_once_and_counted(page: Page, gateway: str) -> None:
    clerk = {"Authorization": f"Bearer {dev_token(gateway, 'township_clerk')}"}
    children = httpx.get(f"{gateway}/registry/v1/children", headers=clerk, params={"status": "active", "limit": 500},
                         timeout=10).json()["items"]
    # The class with most children of the registry (the demo county records no classes: then
    # the school's children, picked with the list's select-all as a class would be).
    by_class: dict[tuple[str, str | None, str | None], list[dict]] = {}
    for c in children:
        if c["school_id"]:
            by_class.setdefault((c["school_id"], c["grade"], c["class_name"]), []).append(c)
    (school_id, grade, class_name), pupils = max(by_class.items(), key=lambda item: len(item[1]))
    assert all(c["grade"] is None for c in children if c["school_id"] == school_id) or grade is not None
    schools = httpx.get(f"{gateway}/registry/v1/schools", headers=clerk, params={"limit": 500}, timeout=10).json()
    [school] = [s["name"] for s in schools["items"] if s["id"] == school_id]

    title = f"防溺水安全教育（{uuid.uuid4().hex[:4]}）"  # its own, on a stack other tests share
    held_before = len(httpx.get(f"{gateway}/visits/v1/activities", headers=clerk, timeout=10,
                                params={"activity_type": "safety_education"}).json()["items"])

    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="集体活动").click()
    page.get_by_test_id("activity-new").click()
    box = page.get_by_role("dialog", name="登记活动")
    choose(page, box, "活动类型", "安全教育")
    box.get_by_role("textbox", name="活动主题").fill(title)
    box.get_by_role("textbox", name="地点").fill("多功能教室")
    box.get_by_role("textbox", name="授课/组织").fill("派出所民警")
    choose(page, box, "学校", school)
    for which, option in (("attendee-grade-filter", grade), ("attendee-class-filter", class_name)):
        if option is None:
            continue
        box.get_by_test_id(which).click()
        click_item(page.locator(".el-select-dropdown__item:visible").filter(
            has_text=re.compile(rf"^\s*{re.escape(option)}\s*$")).first)
    pool = box.get_by_test_id("attendee-pool")
    expect(pool.locator(".el-table__body tr")).to_have_count(len(pupils))
    pool.locator(".el-table__header .el-checkbox").click()  # the whole class
    expect(box.get_by_test_id("attendee-picked-count")).to_contain_text(f"已选 {len(pupils)}人")
    box.get_by_role("spinbutton", name="其他儿童人数").fill("12")
    box.get_by_role("spinbutton", name="家长人数").fill("3")
    screenshot(page, "63-activity-form")
    box.get_by_test_id("activity-save").click()
    expect(box).to_be_hidden()

    row = page.get_by_test_id("activities").locator(".el-table__body tr", has_text=title)
    expect(row).to_contain_text("安全教育")
    expect(row).to_contain_text(f"{len(pupils)}人")
    expect(row).to_contain_text(f"{len(pupils) + 15}人")
    expect(page.get_by_test_id("activities-by-type")).to_contain_text(f"安全教育 {held_before + 1}次")
    screenshot(page, "64-activities")
    check_accessibility(page)

    # Recorded once, with the registry's children; ActivityHeld counts them (no names).
    listed = httpx.get(f"{gateway}/visits/v1/activities", headers=clerk, params={"activity_type": "safety_education"},
                       timeout=10).json()["items"]
    [lecture] = [a for a in listed if a["title"] == title]
    one = httpx.get(f"{gateway}/visits/v1/activities/{lecture['id']}", headers=clerk, timeout=10).json()
    assert sorted(one["child_ids"]) == sorted(c["id"] for c in pupils)
    assert (lecture["attendee_count"], lecture["other_children"], lecture["guardians"]) == (len(pupils), 12, 3)

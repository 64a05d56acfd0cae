"""The casework screens whose APIs visits had before the console did, in a real browser
against a real stack (the fixtures of test_console.py): a child's 帮扶计划 set by the township
clerk with an owner among the paired caregivers and a review date, reviewed with a progress
note and closed with its result, its goals and notes then read by the county officer who
states why; a 留守儿童之家 registered and an afternoon's attendance recorded and counted;
and a county's own 转介部门 added by its county officer, with who added it."""

from __future__ import annotations

import re
import uuid
from datetime import date

import httpx
from playwright.sync_api import Page, expect

from shared.clock import from_env
from tests.web import test_console
from tests.web.console import choose, click_item, dev_token, form_item, screenshot
from tests.web.test_console import check_accessibility, sign_in

page = test_console.page  # the desk-sized, zh-CN page of the console's tests (a fixture)


def county_today() -> date:
    return from_env().today()   # the one clock, in the county's time zone


def long_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def error_of(scope, label: str):
    return form_item(scope, label).locator(".el-form-item__error")


def test_a_plan_is_set_reviewed_and_closed_on_the_childs_page(page: Page, gateway: str) -> None:
    clerk = {"Authorization": f"Bearer {dev_token(gateway, 'township_clerk')}"}
    teacher = {"Authorization": f"Bearer {dev_token(gateway, 'teacher')}"}
    # A child of the teacher's with no plan yet: a stack kept up between runs
    # (SHOUHU_CONSOLE_TEST_GATEWAY) has the earlier runs' plans, and their review dates.
    pairings = httpx.get(f"{gateway}/pairing/v1/me/pairings", headers=teacher, timeout=10).json()["items"]
    pairing = next(p for p in pairings if not httpx.get(f"{gateway}/visits/v1/plans", params={"child_id": p["child_id"]},
                                                         headers=clerk, timeout=10).json()["items"])
    child_id, owner_id = pairing["child_id"], pairing["caregiver_id"]
    owner = httpx.get(f"{gateway}/pairing/v1/caregivers/{owner_id}", headers=clerk, timeout=10).json()["name"]
    title = f"学习帮扶计划（{uuid.uuid4().hex[:4]}）"  # its own, on a stack other tests share
    goal, note, result_note = "数学成绩提高到及格，每周两次作业辅导", "本月作业按时完成，数学测验72分", "已转由新学校的班主任跟进"
    today = county_today()
    review = (today.replace(day=1) + (date(2000, 2, 1) - date(2000, 1, 1))).replace(day=15)  # the 15th of next month

    sign_in(page, "township_clerk")
    page.goto(f"/children/{child_id}")
    plans = page.get_by_test_id("plans")
    plans.get_by_test_id("plan-new").click()
    box = page.get_by_role("dialog", name="新建帮扶计划")
    # Sent empty: the server's reasons appear on the fields they are about.
    box.get_by_test_id("plan-save").click()
    expect(error_of(box, "计划名称")).to_have_text("请填写此项")
    expect(error_of(box, "帮扶目标")).to_have_text("请填写此项")
    # The child has one caregiver paired now: chosen already as the plan's owner.
    expect(form_item(box, "负责人").locator(".el-select")).to_contain_text(owner)

    box.get_by_role("textbox", name="计划名称").fill(title)
    box.get_by_role("textbox", name="目标1").fill(goal)
    box.get_by_test_id("goal-add").click()
    box.get_by_role("textbox", name="目标2").fill("每周与妈妈视频一次")
    form_item(box, "回顾日期").locator("input").click()
    panel = page.locator(".el-picker-panel:visible")
    click_item(panel.locator(".arrow-right"))  # next month
    click_item(panel.locator("td.available:not(.prev-month):not(.next-month) .el-date-table-cell__text",
                             has_text=re.compile(r"^\s*15\s*$")))
    # Escape on the picker's input closes its panel (and not the dialog: the picker keeps the key).
    form_item(box, "回顾日期").locator("input").press("Escape")
    expect(page.locator(".el-picker-panel:visible")).to_have_count(0)
    screenshot(page, "70-plan-form")
    box.get_by_test_id("plan-save").click()
    expect(box).to_be_hidden()

    plan = plans.get_by_test_id("plan").filter(has_text=title)
    expect(plan.get_by_test_id("plan-status")).to_have_text("执行中")
    expect(plan).to_contain_text("学习帮扶计划")
    expect(plan).to_contain_text(owner)
    expect(plan.get_by_test_id("plan-reviews")).to_contain_text(f"{long_date(review)} 待回顾")
    expect(plan).to_contain_text("（说明原因后显示）")  # the clerk does not read goals in clear

    # The review, done with a progress note.
    plan.get_by_test_id("plan-note").click()
    box = page.get_by_role("dialog", name=f"记录进展：{title}")
    expect(form_item(box, "本次为回顾").locator(".el-select")).to_contain_text(f"{long_date(review)}的回顾")
    box.get_by_role("textbox", name="进展情况").fill(note)
    box.get_by_test_id("plan-note-save").click()
    expect(box).to_be_hidden()
    expect(plan.get_by_test_id("plan-reviews")).to_contain_text(f"{long_date(review)} 已回顾")
    expect(plan.get_by_test_id("plan-notes").locator(".el-table__body tr")).to_have_count(1)
    expect(plan.get_by_test_id("plan-notes")).to_contain_text(long_date(today))

    # Closed with its result: "other" needs its words, said on the field.
    plan.get_by_test_id("plan-close").click()
    box = page.get_by_role("dialog", name=f"结束计划：{title}")
    choose(page, box, "计划结果", "其他")
    box.get_by_test_id("plan-close-save").click()
    expect(error_of(box, "结果说明")).to_have_text("结果为“其他”时请写明结果")
    box.get_by_role("textbox", name="结果说明").fill(result_note)
    box.get_by_test_id("plan-close-save").click()
    expect(box).to_be_hidden()
    expect(plan.get_by_test_id("plan-status")).to_have_text("已结束：其他")
    expect(plan.get_by_test_id("plan-note")).to_have_count(0)
    screenshot(page, "71-plan-closed")
    check_accessibility(page)
    page.get_by_role("button", name="退出登录").click()

    # The county officer reads the goals and notes in clear, stating why (the read is recorded).
    sign_in(page, "county_officer")
    page.goto(f"/children/{child_id}")
    page.get_by_test_id("plans").get_by_test_id("plans-reveal").click()
    prompt = page.get_by_role("dialog", name="说明原因")
    prompt.get_by_role("textbox").fill("召开个案会商")
    prompt.get_by_role("button", name="确定").click()
    plan = page.get_by_test_id("plans").get_by_test_id("plan").filter(has_text=title)
    expect(plan.get_by_test_id("plan-goals")).to_contain_text(goal)
    expect(plan.get_by_test_id("plan-notes")).to_contain_text(note)
    expect(plan).to_contain_text(result_note)
    expect(page.get_by_test_id("plans-revealed")).to_contain_text("召开个案会商")
    screenshot(page, "72-plan-read-in-clear")

    officer = {"Authorization": f"Bearer {dev_token(gateway, 'county_officer')}"}
    [stored] = [p for p in httpx.get(f"{gateway}/visits/v1/plans", params={"child_id": child_id}, headers=officer,
                                     timeout=10).json()["items"] if p["title"] == title]
    one = httpx.get(f"{gateway}/visits/v1/plans/{stored['id']}", headers={**officer, "X-Purpose": "check"},
                    timeout=10).json()
    assert (one["status"], one["result"], one["owner_caregiver_id"]) == ("closed", "other", owner_id)
    assert one["goals"] == [goal, "每周与妈妈视频一次"] and [n["note"] for n in one["notes"]] == [note]
    assert [(r["due_on"], r["state"]) for r in one["reviews"]] == [(review.isoformat(), "reviewed")]


def test_a_childrens_home_is_registered_and_an_afternoons_attendance_counted(page: Page, gateway: str) -> None:
    clerk = {"Authorization": f"Bearer {dev_token(gateway, 'township_clerk')}"}
    children = httpx.get(f"{gateway}/registry/v1/children", headers=clerk, params={"status": "active", "limit": 500},
                         timeout=10).json()["items"]
    township = children[0]["jurisdiction"]["township_code"]
    pool = [c for c in children if c["jurisdiction"]["township_code"] == township]
    assert len(pool) >= 3
    name = f"石板村留守儿童之家（{uuid.uuid4().hex[:4]}）"
    session = f"作业辅导（{uuid.uuid4().hex[:4]}）"

    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="集体活动").click()
    page.get_by_role("tab", name="留守儿童之家").click()
    page.get_by_test_id("home-new").click()
    box = page.get_by_role("dialog", name="登记留守儿童之家")
    box.get_by_test_id("home-save").click()
    expect(error_of(box, "名称")).to_have_text("请填写此项")
    expect(error_of(box, "开放时间")).to_have_text("请填写此项")
    box.get_by_role("textbox", name="名称").fill(name)
    box.get_by_role("textbox", name="地点").fill("村委会二楼活动室")
    box.get_by_role("textbox", name="开放时间").fill("每周三、周六 14:00-17:00")
    box.get_by_role("textbox", name="其他工作人员").fill("村儿童主任")
    form_item(box, "设施设备").locator(".el-select").click()
    for item in ("图书角", "亲情电话"):
        click_item(page.locator(".el-select-dropdown__item:visible", has_text=item))
    form_item(box, "设施设备").locator("input").press("Escape")  # the list closes, the dialog stays
    expect(page.locator(".el-select-dropdown:visible")).to_have_count(0)
    box.get_by_test_id("home-save").click()
    expect(box).to_be_hidden()

    home = page.get_by_test_id("homes").locator(".el-table__body tr", has_text=name)
    expect(home).to_contain_text("每周三、周六 14:00-17:00")
    expect(home).to_contain_text("图书角、亲情电话")
    expect(home).to_contain_text("村儿童主任")
    expect(home).to_contain_text("0次")

    # This afternoon: three of the township's children, and others counted.
    home.get_by_test_id("home-attendance").click()
    box = page.get_by_role("dialog", name=f"记录出勤：{name}")
    box.get_by_role("textbox", name="活动内容").fill(session)
    rows = box.get_by_test_id("home-pool").locator(".el-table__body tr")
    expect(rows).to_have_count(len(pool))
    for row in range(3):
        rows.nth(row).locator(".el-checkbox").click()
    expect(box.get_by_test_id("home-picked-count")).to_contain_text("已选 3人")
    box.get_by_role("spinbutton", name="其他儿童人数").fill("5")
    box.get_by_role("spinbutton", name="家长人数").fill("2")
    screenshot(page, "73-home-attendance")
    box.get_by_test_id("attendance-save").click()
    expect(box).to_be_hidden()
    expect(home).to_contain_text("1次")
    expect(home).to_contain_text(long_date(county_today()))
    screenshot(page, "74-homes")
    check_accessibility(page)

    # Counted with the other activities, as a 之家活动.
    page.get_by_role("tab", name="活动登记").click()
    row = page.get_by_test_id("activities").locator(".el-table__body tr", has_text=session)
    expect(row).to_contain_text("之家活动")
    expect(row).to_contain_text("10人")
    expect(page.get_by_test_id("activities-by-type")).to_contain_text("之家活动")

    [stored] = [h for h in httpx.get(f"{gateway}/visits/v1/childrens-homes", headers=clerk, timeout=10).json()["items"]
                if h["name"] == name]
    assert stored["equipment"] == ["图书角", "亲情电话"] and stored["township_code"] == township
    [held] = httpx.get(f"{gateway}/visits/v1/activities", params={"home_id": stored["id"]}, headers=clerk,
                       timeout=10).json()["items"]
    assert (held["activity_type"], held["attendee_count"], held["other_children"], held["guardians"]) == (
        "home_activity", 3, 5, 2)


def test_a_county_officer_adds_an_agency_and_is_named_as_its_author(page: Page, gateway: str) -> None:
    agency = f"城关派出所（{uuid.uuid4().hex[:4]}）"
    sign_in(page, "county_officer")
    page.get_by_role("menuitem", name="系统设置").click()
    page.get_by_role("tab", name="转介部门").click()
    listed = page.get_by_test_id("agencies")
    expect(listed.locator(".el-table__body tr", has_text="公安机关")).to_contain_text("系统默认")
    page.get_by_test_id("agencies-new").click()
    box = page.get_by_role("dialog", name="新增转介部门")
    box.get_by_test_id("agencies-save").click()
    expect(error_of(box, "名称")).to_have_text("请填写此项")
    box.get_by_role("textbox", name="名称").fill(agency)
    choose(page, box, "类别", "公安")
    box.get_by_test_id("agencies-save").click()
    expect(box).to_be_hidden()

    row = listed.locator(".el-table__body tr", has_text=agency)
    expect(row).to_contain_text("公安")
    expect(row).to_contain_text("启用")
    expect(row).to_contain_text("demo-county_officer")
    expect(row).to_contain_text(long_date(county_today()))
    row.get_by_role("button", name="变更记录").click()
    drawer = page.get_by_role("dialog", name=f"变更记录：{agency}")
    expect(drawer.get_by_test_id("history")).to_contain_text("新建")
    expect(drawer.get_by_test_id("history")).to_contain_text("demo-county_officer")
    screenshot(page, "75-agencies")
    check_accessibility(page)

    officer = {"Authorization": f"Bearer {dev_token(gateway, 'county_officer')}"}
    [stored] = [a for a in httpx.get(f"{gateway}/visits/v1/concern-agencies", headers=officer, timeout=10
                                     ).json()["items"] if a["name"] == agency]
    assert (stored["kind"], stored["active"], stored["updated_by"]) == ("police", True, "demo-county_officer")
    assert stored["defined_by"] != "default"

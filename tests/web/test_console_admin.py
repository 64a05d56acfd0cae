"""系统设置 in a real browser against a real stack (the fixtures of test_console.py): the county
officer adds a school (the registry's refusal shown on the field), corrects it, and reads who
changed it; every settings tab renders in Chinese without serious accessibility faults."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.web import test_console
from tests.web.console import choose, dev_token, form_item, screenshot
from tests.web.test_console import check_accessibility, sign_in

page = test_console.page  # the desk-sized, zh-CN page of the console's tests (a fixture)


def test_county_officer_keeps_the_school_register_and_sees_who_changed_it(page: Page) -> None:
    name = f"关岭县第{uuid.uuid4().int % 90 + 10}民族小学"
    sign_in(page, "county_officer")
    page.get_by_role("menuitem", name="系统设置").click()
    expect(page.get_by_role("heading", name="系统设置")).to_be_visible()
    expect(page.get_by_test_id("schools").locator(".el-table__body tr").first).to_be_visible()
    screenshot(page, "50-admin-schools")
    check_accessibility(page)

    page.get_by_test_id("school-add").click()
    box = page.get_by_role("dialog", name="新增学校")
    form_item(box, "学校名称").locator("input").fill(name)
    form_item(box, "学校标识码").locator("input").fill("12345")  # 10 digits are required
    choose(page, box, "乡镇（街道）", "顶云街道")
    box.get_by_role("button", name="保存").click()
    expect(form_item(box, "学校标识码").locator(".el-form-item__error")).to_be_visible()
    screenshot(page, "51-admin-school-refused")
    check_accessibility(page)
    code = str(3152000000 + uuid.uuid4().int % 99_999)
    form_item(box, "学校标识码").locator("input").fill(code)
    box.get_by_role("button", name="保存").click()
    expect(box).to_be_hidden()
    row = page.get_by_test_id("schools").locator(".el-table__body tr", has_text=name)
    expect(row).to_contain_text(code)

    row.get_by_role("button", name="修改").click()
    box = page.get_by_role("dialog", name="修改学校信息")
    form_item(box, "校长").locator("input").fill("罗校长")
    box.get_by_role("button", name="保存").click()
    expect(box).to_be_hidden()
    expect(row).to_contain_text("罗校长")

    row.get_by_role("button", name="变更记录").click()
    history = page.get_by_test_id("history")
    expect(history.locator(".el-table__body tr")).to_have_count(2)
    expect(history.locator(".el-table__body tr").first).to_contain_text("修改")
    expect(history).to_contain_text("demo-county_officer")  # who, from the token of the request
    expect(history).to_contain_text("新建")
    expect(history).to_contain_text(re.compile(r"\d{4}年\d{1,2}月\d{1,2}日"))
    screenshot(page, "52-admin-school-history")
    check_accessibility(page)
    page.keyboard.press("Escape")

    tabs = (("应建档人数", "expected-counts", "53-admin-expected"), ("关爱任务规则", "policies", "54-admin-policies"),
            ("通知规则", "routing-rules", "55-admin-routing"), ("接收人与值班", "recipients", "56-admin-recipients"))
    for tab, shown, shot in tabs:
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_test_id(shown)).to_be_visible()
        if shown == "routing-rules":  # events and audiences by their Chinese names
            expect(page.get_by_test_id(shown)).to_contain_text("任务逾期")
            expect(page.get_by_test_id(shown)).not_to_contain_text("ContactOverdue")
        page.wait_for_load_state("networkidle")
        screenshot(page, shot)
        check_accessibility(page)

    # The county writes its own frequency for letters (the system default stays as it was).
    page.get_by_role("tab", name="关爱任务规则").click()
    policies = page.get_by_test_id("policies").locator(".el-table__body tr")
    letters = policies.filter(has_text="系统默认").filter(has_text="书信").filter(has_text="全部儿童").first
    letters.get_by_role("button", name="修改").click()
    box = page.get_by_role("dialog", name="修改任务频次")
    choose(page, box, "频次", "每周")
    screenshot(page, "57-admin-policy-edit")
    check_accessibility(page)
    box.get_by_test_id("policy-save").click()
    expect(box).to_be_hidden()
    ours = policies.filter(has_text="关岭布依族苗族自治县").filter(has_text="书信").first
    expect(ours).to_contain_text("每周")
    expect(ours).to_contain_text("demo-county_officer")
    expect(policies.filter(has_text="系统默认").filter(has_text="书信").first).to_contain_text("每学期")


def confirm(page: Page, button: str) -> None:
    """Element Plus' confirmation box (ElMessageBox) answered with `button`."""
    box = page.locator(".el-message-box")
    expect(box).to_be_visible()
    box.get_by_role("button", name=button).click()
    expect(box).to_be_hidden()


def test_county_officer_changes_a_routing_rule_and_restores_the_default(page: Page) -> None:
    sign_in(page, "county_officer")
    page.goto("/admin")
    page.get_by_role("tab", name="通知规则").click()
    rows = page.get_by_test_id("routing-rules").locator(".el-table__body tr")
    due = rows.filter(has_text="任务即将到期").filter(has_text="结对帮扶人")
    expect(due).to_contain_text("系统默认")

    # Concern alerts cannot be switched off: the service's refusal is shown under 启用.
    alert = rows.filter(has_text="发现问题").filter(has_text="值班人员")
    alert.get_by_role("button", name="修改").click()
    box = page.get_by_role("dialog", name="修改通知规则")
    form_item(box, "启用").locator(".el-switch").click()
    box.get_by_test_id("rule-save").click()
    expect(form_item(box, "启用").locator(".el-form-item__error")).to_contain_text("提醒不能关闭")
    screenshot(page, "58-admin-rule-refused")
    check_accessibility(page)
    box.get_by_role("button", name="取消").click()
    expect(box).to_be_hidden()

    # The county's own rule for 任务即将到期: no e-mail (the default sends one), written by
    # whoever saved it.
    expect(due).to_contain_text("电子邮件")
    due.get_by_role("button", name="修改").click()
    box = page.get_by_role("dialog", name="修改通知规则")
    box.locator(".el-checkbox", has_text="电子邮件").click()
    expect(box.get_by_role("checkbox", name="电子邮件")).not_to_be_checked()
    box.get_by_test_id("rule-save").click()
    expect(box).to_be_hidden()
    expect(due).to_contain_text("关岭布依族苗族自治县")
    expect(due).not_to_contain_text("电子邮件")
    expect(due).to_contain_text("demo-county_officer")
    screenshot(page, "59-admin-rule-changed")

    due.get_by_role("button", name="恢复默认").click()
    confirm(page, "恢复默认")
    expect(due).to_contain_text("系统默认")
    expect(due).to_contain_text("电子邮件")
    due.get_by_role("button", name="变更记录").click()
    history = page.get_by_test_id("history").locator(".el-table__body tr")
    # Newest first: this test's removal, then the rule it wrote (a stack reused by an earlier
    # run has older pairs below).
    expect(history.nth(0)).to_contain_text("删除")
    expect(history.nth(1)).to_contain_text("新建")
    expect(history.nth(0)).to_contain_text("demo-county_officer")
    page.keyboard.press("Escape")


def test_county_officer_keeps_recipients_and_the_duty_roster(page: Page) -> None:
    staff_id = f"twp-clerk-{uuid.uuid4().hex[:6]}"
    sign_in(page, "county_officer")
    page.goto("/admin")
    page.get_by_role("tab", name="接收人与值班").click()
    expect(page.get_by_test_id("recipients")).to_be_visible()

    page.get_by_test_id("recipient-add").click()
    box = page.get_by_role("dialog", name="新增接收人")
    form_item(box, "工作人员账号").locator("input").fill(staff_id)
    choose(page, box, "层级", "乡镇（街道）")
    choose(page, box, "范围", "顶云街道")
    form_item(box, "手机号").locator("input").fill("010-62345678")  # a landline: no SMS
    box.get_by_test_id("recipient-save").click()
    expect(form_item(box, "手机号").locator(".el-form-item__error")).to_be_visible()
    screenshot(page, "60-admin-recipient-refused")
    check_accessibility(page)
    form_item(box, "手机号").locator("input").fill("13800138000")
    box.get_by_test_id("recipient-save").click()
    expect(box).to_be_hidden()
    person = page.get_by_test_id("recipients").locator(".el-table__body tr", has_text=staff_id)
    expect(person).to_contain_text("顶云街道")
    expect(person).to_contain_text("短信")
    expect(person).to_contain_text("demo-county_officer")

    person.get_by_role("button", name="修改").click()
    box = page.get_by_role("dialog", name="修改接收人")
    form_item(box, "电子邮件").locator("input").fill("clerk@dingyun.example.cn")
    box.get_by_test_id("recipient-save").click()
    expect(box).to_be_hidden()
    expect(person).to_contain_text("电子邮件")

    # On duty for 顶云街道 from the next hour for a day; then moved to the whole county.
    page.get_by_test_id("shift-add").click()
    box = page.get_by_role("dialog", name="新增值班")
    choose(page, box, "值班人", staff_id)
    choose(page, box, "范围", "顶云街道")
    box.get_by_test_id("shift-save").click()
    expect(box).to_be_hidden()
    shift = page.get_by_test_id("roster").locator(".el-table__body tr", has_text=staff_id)
    expect(shift).to_contain_text("顶云街道")
    shift.get_by_role("button", name="修改").click()
    box = page.get_by_role("dialog", name="修改值班")
    choose(page, box, "范围", "关岭布依族苗族自治县")
    box.get_by_test_id("shift-save").click()
    expect(box).to_be_hidden()
    expect(shift).to_contain_text("关岭布依族苗族自治县")
    expect(shift).to_contain_text("demo-county_officer")
    screenshot(page, "61-admin-roster")
    check_accessibility(page)
    shift.get_by_role("button", name="变更记录").click()
    history = page.get_by_test_id("history").locator(".el-table__body tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("修改")
    expect(history.first).to_contain_text("jurisdiction")
    page.keyboard.press("Escape")

    # Someone on duty is kept until their shift goes.
    person.get_by_role("button", name="删除").click()
    confirm(page, "删除")
    expect(page.get_by_test_id("recipients-failure")).to_contain_text("仍有值班安排")
    shift.get_by_role("button", name="删除").click()
    confirm(page, "删除")
    expect(shift).to_have_count(0)
    person.get_by_role("button", name="删除").click()
    confirm(page, "删除")
    expect(person).to_have_count(0)


def test_county_officer_sets_how_long_records_are_kept(page: Page, gateway: str) -> None:
    sign_in(page, "county_officer")
    page.get_by_role("menuitem", name="系统设置").click()
    page.get_by_role("tab", name="档案保存期限").click()
    retention = page.get_by_test_id("retention")
    expect(retention).to_contain_text("个人信息保护法")
    years = 10 + uuid.uuid4().int % 20   # a value no earlier run left, so the save is seen
    closing, adulthood = form_item(retention, "销档后保存"), form_item(retention, "年满18周岁后保存")
    if not closing.locator(".el-checkbox.is-checked").count():
        closing.locator(".el-checkbox").click()
    retention.get_by_label("销档后保存年数").fill(str(years))
    if adulthood.locator(".el-checkbox.is-checked").count():
        adulthood.locator(".el-checkbox").click()
    expect(adulthood).to_contain_text("一直保存")
    retention.get_by_text("匿名化").click()
    retention.get_by_test_id("retention-save").click()
    expect(retention.get_by_role("status")).to_have_text("已保存")
    expect(retention.get_by_test_id("retention-changed")).not_to_contain_text("尚未设定")
    screenshot(page, "55-admin-retention")
    check_accessibility(page)

    # What the registry now holds, as its worker will apply it.
    headers = {"Authorization": f"Bearer {dev_token(gateway, 'county_officer')}"}
    held = httpx.get(f"{gateway}/registry/v1/retention-policy", headers=headers, timeout=10).json()
    assert (held["years_after_closing"], held["years_after_adulthood"], held["action"]) == (years, None, "anonymise")
    # Read again after a reload: the form shows the stored policy.
    page.reload()
    page.get_by_role("tab", name="档案保存期限").click()
    expect(page.get_by_test_id("retention").get_by_label("销档后保存年数")).to_have_value(str(years))

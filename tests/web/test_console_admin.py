"""系统设置 in a real browser against a real stack (the fixtures of test_console.py): the county
officer adds a school (the registry's refusal shown on the field), corrects it, and reads who
changed it; every settings tab renders in Chinese without serious accessibility faults."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.web import test_console
from tests.web.console import choose, form_item, screenshot
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

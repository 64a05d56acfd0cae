"""The staff console's changes to a child's record in a real browser against a real stack (the
fixtures of test_console.py): a township clerk registers a child (the registry's refusal shown
on the field it names), changes a guardian's and a parent's entry, transfers, closes and
reopens the record; an edit made meanwhile by someone else is refused with "reload".
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.registry.helpers import national_id
from tests.web.console import choose, dev_token, form_item, screenshot
from tests.web import test_console
from tests.web.test_console import check_accessibility, sign_in

page = test_console.page  # the desk-sized, zh-CN page of the console's tests (a fixture)

STALE = "该记录已被他人修改，请刷新"


def a_new_id(born: date, gender: str) -> str:
    return national_id(born, gender, region="520424", sequence=uuid.uuid4().int % 100)


def fill_date(page: Page, scope, label: str, day: date) -> None:
    box = form_item(scope, label).locator("input")
    box.fill(day.isoformat())
    box.press("Enter")
    page.keyboard.press("Escape")


def dialog(page: Page, title: str):
    return page.get_by_role("dialog", name=title)


def test_township_clerk_registers_changes_transfers_closes_and_reopens_a_child(page: Page, gateway: str) -> None:
    born = date(2013, 1, 1) + timedelta(days=uuid.uuid4().int % 3000)  # a day of its own: a new ID
    good_id = a_new_id(born, "female")
    wrong_id = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")

    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="儿童信息").click()
    page.get_by_test_id("register").click()
    expect(page.get_by_role("heading", name="新增儿童")).to_be_visible()
    form = page.get_by_test_id("register-form")
    form_item(form, "姓名").locator("input").fill("杨雨桐")
    form_item(form, "性别").get_by_text("女").click()
    fill_date(page, form, "出生日期", born)
    form_item(form, "身份证号").locator("input").fill(wrong_id)
    expect(form_item(form, "乡镇（街道）")).to_contain_text("顶云街道")  # the clerk's one township, chosen
    choose(page, form, "村（社区）", "八角社区")
    form_item(form, "监护人姓名").locator("input").fill("杨秀英")
    form_item(form, "监护人电话").locator("input").fill("13800138000")
    screenshot(page, "20-child-register")
    check_accessibility(page)

    # The registry refuses the check digit: the reason is shown under 身份证号, nothing is saved.
    page.get_by_role("button", name="保存").click()
    expect(form_item(form, "身份证号").locator(".el-form-item__error")).to_have_text(re.compile("校验码不对"))
    expect(page.get_by_test_id("form-failure")).to_contain_text("标红")
    screenshot(page, "21-child-register-refused")
    check_accessibility(page)

    form_item(form, "身份证号").locator("input").fill(good_id)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("杨雨桐")
    expect(page).to_have_url(re.compile(r"/children/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("national-id")).to_have_text(good_id[:4] + "*" * 10 + good_id[-4:])
    child_id = page.url.rsplit("/", 1)[1]

    # A guardian's entry changed by itself: the new phone, shown masked.
    guardians = page.locator(".el-table").filter(has_text="监护人").first
    guardians.get_by_role("button", name="修改").first.click()
    box = dialog(page, "修改监护人")
    form_item(box, "联系电话").locator("input").fill("13900139000")
    box.get_by_role("button", name="保存").click()
    expect(box).to_be_hidden()
    expect(guardians).to_contain_text("139****9000")

    page.get_by_role("button", name="添加父母信息").click()
    box = dialog(page, "添加父母信息")
    choose(page, box, "与儿童关系", "母亲")
    form_item(box, "姓名").locator("input").fill("李桂芳")
    form_item(box, "外出务工地").locator("input").fill("浙江省宁波市")
    form_item(box, "外出时间").locator("input").fill("2021-03")
    screenshot(page, "22-child-add-parent")
    check_accessibility(page)
    box.get_by_role("button", name="保存").click()
    expect(box).to_be_hidden()
    expect(page.locator(".el-table").filter(has_text="外出务工地")).to_contain_text("浙江省宁波市")
    expect(page.locator(".el-table").filter(has_text="外出务工地")).to_contain_text("2021年3月")

    page.get_by_role("button", name="转学/迁移").click()
    box = dialog(page, "转学/迁移")
    choose(page, box, "村（社区）", "新城社区")
    box.get_by_test_id("lifecycle-confirm").click()
    expect(box).to_be_hidden()
    expect(page.get_by_test_id("child-status")).to_have_text("已转学/迁移")
    expect(page.locator(".el-descriptions")).to_contain_text("新城社区")

    page.get_by_role("button", name="销档").click()
    box = dialog(page, "销档")
    box.get_by_test_id("lifecycle-confirm").click()  # without a reason: refused on the field
    expect(form_item(box, "销档原因").locator(".el-form-item__error")).to_be_visible()
    choose(page, box, "销档原因", "父母返乡")
    box.get_by_test_id("lifecycle-confirm").click()
    expect(box).to_be_hidden()
    expect(page.get_by_test_id("child-status")).to_have_text("已销档（父母返乡）")
    expect(page.get_by_role("button", name="修改档案")).to_be_disabled()  # a closed record is reopened first
    screenshot(page, "23-child-closed")
    check_accessibility(page)

    page.get_by_role("button", name="恢复在册").click()
    dialog(page, "恢复在册").get_by_test_id("lifecycle-confirm").click()
    expect(page.get_by_test_id("child-status")).to_have_text("在册")
    screenshot(page, "25-child-reopened")

    # Support given to the child: an empty fund is refused on its field; a second gift from the
    # same fund in the same period is kept but marked for a look.
    support = page.get_by_test_id("support")
    for given in range(2):
        page.get_by_role("button", name="登记帮扶").click()
        box = dialog(page, "登记帮扶")
        form_item(box, "金额（元）").locator("input").fill("500")
        if given == 0:
            box.get_by_test_id("support-save").click()
            expect(form_item(box, "资金/项目").locator(".el-form-item__error")).to_be_visible()
        form_item(box, "资金/项目").locator("input").fill("春蕾计划")
        box.get_by_test_id("support-save").click()
        expect(box).to_be_hidden()
    expect(support.locator(".el-table__body tr")).to_have_count(2)
    expect(support).to_contain_text("500.00元")
    expect(support).to_contain_text("同期重复，待核实")
    screenshot(page, "26-child-support")
    check_accessibility(page)

    # What the registry now holds: the clerk's changes, each as a new version.
    token = dev_token(gateway, "township_clerk")
    record = httpx.get(f"{gateway}/registry/v1/children/{child_id}", headers={"Authorization": f"Bearer {token}"},
                       timeout=10).json()
    assert record["status"] == "active" and record["jurisdiction"]["village_code"] == "520424002002"
    assert [p["relation"] for p in record["parents"]] == ["mother"] and record["guardians"][0]["phone"].endswith("9000")


def test_an_edit_after_someone_elses_change_is_refused_with_reload(page: Page, gateway: str) -> None:
    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="儿童信息").click()
    page.locator(".el-table__body tr.child-row a").first.click()
    expect(page.get_by_role("heading", name="基本信息")).to_be_visible()
    child_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name="修改档案").click()
    box = dialog(page, "修改基本信息")
    expect(box).to_be_visible()

    # Meanwhile a colleague changes the class through the API (the version the page read is now old).
    token = dev_token(gateway, "township_clerk")
    headers = {"Authorization": f"Bearer {token}"}
    current = httpx.get(f"{gateway}/registry/v1/children/{child_id}", headers=headers, timeout=10)
    changed = httpx.patch(f"{gateway}/registry/v1/children/{child_id}", headers={**headers, "If-Match": current.headers["ETag"]},
                          json={"class_name": f"{uuid.uuid4().int % 9 + 1}班"}, timeout=10)
    assert changed.status_code == 200, changed.text

    form_item(box, "年级").locator("input").fill("五年级")
    box.get_by_role("button", name="保存").click()
    expect(box.get_by_test_id("dialog-failure")).to_have_text(STALE)
    expect(page.get_by_role("alert").filter(has_text=STALE).first).to_be_visible()
    screenshot(page, "24-child-stale-edit")
    after = httpx.get(f"{gateway}/registry/v1/children/{child_id}", headers=headers, timeout=10).json()
    assert after["grade"] != "五年级" and after["version"] == changed.json()["version"]  # nothing applied

"""Each role's month in the console, end to end in a real browser against a real stack (the
fixtures of test_console.py): the township clerk goes from the dashboard to the overdue work,
the child's record and the concerns, and files the month's summary and contact ledger; the
principal sees their own school only, everywhere, and files the school's ledger; the county
officer checks the notification setup, closes a gap in it on 系统设置 (a county recipient on
duty), sees the check pass, and reads the townships' assessment and the concerns ledger."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web import test_console
from tests.web.console import choose, form_item, screenshot
from tests.web.test_console import check_accessibility, sign_in

page = test_console.page  # the desk-sized, zh-CN page of the console's tests (a fixture)

COUNTY = "关岭布依族苗族自治县"
PRINCIPALS_SCHOOL = "关岭县顶云中心小学"  # demo-school-…-1 of the clerk's township (scripts/stack)


def open_menu(page: Page, item: str, heading: str) -> None:
    page.get_by_role("menuitem", name=item).click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def rows_of(page: Page, test_id: str):
    return page.get_by_test_id(test_id).locator(".el-table__body tr")


def download(page: Page, button, tmp_path: Path) -> Path:
    with page.expect_download() as started:
        button.click()
    saved = tmp_path / started.value.suggested_filename
    started.value.save_as(saved)
    return saved


def test_the_township_clerks_month(page: Page, tmp_path: Path) -> None:
    sign_in(page, "township_clerk")
    figures = page.get_by_test_id("figures")
    expect(figures).to_contain_text("本月联系")
    expect(figures).to_contain_text(re.compile(r"\d+项\s*逾期任务"))

    # The overdue work, named; then the first child's record from a search by name.
    open_menu(page, "逾期任务", "逾期任务")
    overdue = rows_of(page, "overdue")
    expect(overdue.first).to_be_visible()
    expect(page.get_by_test_id("overdue-count")).to_contain_text(re.compile(r"共 \d+项"))
    # The names arrive after the rows (the registry's names, read for the page): "…" until then.
    first_cell = overdue.first.locator("td").first
    expect(first_cell).not_to_have_text("…", timeout=15_000)
    child = first_cell.inner_text().strip()
    assert child
    screenshot(page, "70-clerk-overdue")
    open_menu(page, "儿童信息", "儿童信息")
    page.get_by_role("textbox", name="按姓名、拼音或首字母搜索").fill(child)
    page.get_by_role("button", name="查询").click()
    found = page.locator(".el-table__body tr.child-row a", has_text=child).first
    expect(found).to_be_visible()
    found.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(child)
    expect(page.get_by_test_id("pairings")).to_be_visible()

    open_menu(page, "关注事项", "关注事项")
    expect(page.get_by_test_id("concern-count")).to_be_visible()

    # Last month's summary and the contact ledger of the township.
    open_menu(page, "报表", "报表")
    last_month = page.get_by_role("radio", name=re.compile(r"^\d{4}年\d{1,2}月$")).nth(1)
    last_month.click(force=True)
    choose(page, page, "范围", "顶云街道")
    summary = download(page, page.get_by_test_id("download-docx"), tmp_path)
    assert summary.name.startswith("工作总结-顶云街道-") and summary.read_bytes()[:2] == b"PK"
    ledgers = page.get_by_test_id("ledgers")
    ledgers.get_by_role("radio", name="家访谈心亲情电话记录").click(force=True)
    ledgers.get_by_test_id("ledger-preview").click()
    expect(ledgers.get_by_test_id("ledger-title")).to_contain_text("家访谈心亲情电话记录")
    contacts = download(page, ledgers.get_by_test_id("ledger-xlsx"), tmp_path)
    assert contacts.name.startswith("家访谈心亲情电话记录台账-顶云街道-") and contacts.read_bytes()[:2] == b"PK"
    screenshot(page, "71-clerk-reports")
    check_accessibility(page)


def test_the_principals_month_stays_within_the_school(page: Page, tmp_path: Path) -> None:
    sign_in(page, "principal")
    expect(page.get_by_test_id("figures")).to_contain_text("在册儿童")
    expect(page.get_by_role("menuitem", name="系统设置")).to_have_count(0)  # the county's settings

    open_menu(page, "儿童信息", "儿童信息")
    children = page.locator(".el-table__body tr.child-row")
    expect(children.first).to_be_visible()
    for row in children.all():
        expect(row).to_contain_text(PRINCIPALS_SCHOOL)

    open_menu(page, "逾期任务", "逾期任务")
    overdue = rows_of(page, "overdue")
    expect(page.get_by_test_id("overdue-count")).to_be_visible()
    for row in overdue.all():
        expect(row).to_contain_text(PRINCIPALS_SCHOOL)
    screenshot(page, "72-principal-overdue")

    # The school's reports: the scope is the school, and the register ledger lists its children only.
    open_menu(page, "报表", "报表")
    expect(form_item(page, "范围")).to_contain_text(PRINCIPALS_SCHOOL)
    page.get_by_role("radio", name=re.compile(r"^\d{4}年$")).click(force=True)
    ledgers = page.get_by_test_id("ledgers")
    ledgers.get_by_role("radio", name="一人一档").click(force=True)
    ledgers.get_by_test_id("ledger-preview").click()
    listed = ledgers.get_by_test_id("ledger-rows").locator(".el-table__body tr")
    expect(listed.first).to_be_visible()
    for row in listed.all():
        expect(row).to_contain_text(PRINCIPALS_SCHOOL)
    register = download(page, ledgers.get_by_test_id("ledger-xlsx"), tmp_path)
    assert register.name.startswith(f"一人一档台账-{PRINCIPALS_SCHOOL}-") and register.read_bytes()[:2] == b"PK"
    screenshot(page, "73-principal-reports")
    check_accessibility(page)


def test_the_county_officers_month_closes_a_gap_in_the_notification_setup(page: Page, tmp_path: Path) -> None:
    sign_in(page, "county_officer")
    open_menu(page, "结对帮扶", "结对帮扶")
    expect(page.get_by_test_id("unpaired-total")).to_be_visible()

    open_menu(page, "通知与配置", "通知与配置")
    setup = page.get_by_test_id("setup")
    expect(setup).to_be_visible()
    screenshot(page, "74-officer-setup")

    # A county officer on duty for the whole county from this hour: the county's roster gap closes.
    staff_id = f"county-duty-{uuid.uuid4().hex[:6]}"
    open_menu(page, "系统设置", "系统设置")
    page.get_by_role("tab", name="接收人与值班").click()
    page.get_by_test_id("recipient-add").click()
    box = page.get_by_role("dialog", name="新增接收人")
    form_item(box, "工作人员账号").locator("input").fill(staff_id)
    choose(page, box, "层级", "县级")
    choose(page, box, "范围", COUNTY)
    form_item(box, "手机号").locator("input").fill("13900139000")
    box.get_by_test_id("recipient-save").click()
    expect(box).to_be_hidden()
    page.get_by_test_id("shift-add").click()
    box = page.get_by_role("dialog", name="新增值班")
    choose(page, box, "值班人", staff_id)
    choose(page, box, "范围", COUNTY)
    box.get_by_test_id("shift-save").click()
    expect(box).to_be_hidden()
    expect(rows_of(page, "roster").filter(has_text=staff_id)).to_contain_text(COUNTY)

    open_menu(page, "通知与配置", "通知与配置")
    gaps = rows_of(page, "setup")
    expect(gaps.first).to_be_visible()
    expect(gaps.filter(has_text="值班表").filter(has_text=COUNTY)).to_have_count(0)
    expect(gaps.filter(has_text="接收人").filter(has_text=COUNTY).filter(has_text="县级")).to_have_count(0)

    # The month's assessment by township and the concerns ledger of the county.
    open_menu(page, "报表", "报表")
    page.get_by_role("radio", name="乡镇（街道）").click(force=True)
    ranked = rows_of(page, "assessment")
    expect(ranked.first).to_be_visible()
    ledgers = page.get_by_test_id("ledgers")
    ledgers.get_by_role("radio", name="强制报告登记").click(force=True)
    ledgers.get_by_test_id("ledger-preview").click()
    expect(ledgers.get_by_test_id("ledger-title")).to_contain_text("强制报告登记")
    pdf = download(page, ledgers.get_by_test_id("ledger-pdf"), tmp_path)
    assert pdf.name.startswith("强制报告登记台账-") and pdf.read_bytes()[:4] == b"%PDF"
    screenshot(page, "75-officer-reports")
    check_accessibility(page)

"""The work lists and reports in a real browser against a real stack (the fixtures of
test_console.py): a township clerk acknowledges a mandatory-report concern with its referral,
reads the notification setup check and the undeliverable messages, downloads the 工作总结 and
looks at a ledger (台账) before downloading it as Excel and PDF;
a county officer reads the assessment."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.web.console import choose, click_item, dev_token, screenshot, until
from tests.web import test_console
from tests.web.test_console import check_accessibility, sign_in

page = test_console.page  # the desk-sized, zh-CN page of the console's tests (a fixture)


def a_concern_raised_by_the_teacher(gateway: str) -> str:
    """The demo teacher records a talk with one of their children and a concern that must be
    reported (neglect); visits opens it for the township."""
    teacher = {"Authorization": f"Bearer {dev_token(gateway, 'teacher')}"}
    pairings = httpx.get(f"{gateway}/pairing/v1/me/pairings", headers=teacher, timeout=10).json()["items"]
    first = pairings[0]
    contact = httpx.post(f"{gateway}/visits/v1/contacts", headers=teacher, timeout=20, json={
        "child_id": first["child_id"], "caregiver_id": first["caregiver_id"], "kind": "talk",
        "occurred_at": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(),
        "concerns": [{"category": "neglect", "severity": "high"}]})
    assert contact.status_code == 201, contact.text
    return first["child_id"]


def test_township_clerk_acknowledges_a_concern_with_its_referral(page: Page, gateway: str) -> None:
    child_id = a_concern_raised_by_the_teacher(gateway)
    clerk = {"Authorization": f"Bearer {dev_token(gateway, 'township_clerk')}"}
    until(lambda: any(c["child_id"] == child_id and c["status"] == "open" for c in httpx.get(
        f"{gateway}/visits/v1/concerns", headers=clerk, params={"status": "open"}, timeout=10).json()["items"]),
        "visits has the concern open")

    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="关注事项").click()
    concerns = page.get_by_test_id("concerns")
    row = concerns.locator(".el-table__body tr", has_text="强制报告").filter(has_text="待确认").first
    expect(row).to_contain_text("严重")
    expect(row).to_contain_text("乡镇")  # the level it stands at
    expect(concerns).not_to_contain_text("…")
    screenshot(page, "40-concerns")
    check_accessibility(page)

    row.get_by_role("button", name="确认").click()
    box = page.get_by_role("dialog", name="确认关注事项")
    expect(box).to_contain_text("依法须强制报告")  # what happens next, in plain words
    box.get_by_test_id("concern-confirm").click()  # without an agency: refused on the field
    expect(box.locator(".el-form-item__error")).to_be_visible()
    box.locator(".el-select").click()
    click_item(page.locator(".el-select-dropdown__item:visible").first)
    box.locator(".el-dialog__title").click()  # closes the list (Escape would close the dialog)
    box.get_by_role("textbox", name="处理说明").fill("已电话联系监护人，转介派出所核实")
    screenshot(page, "41-concern-acknowledge")
    check_accessibility(page)
    box.get_by_test_id("concern-confirm").click()
    expect(box).to_be_hidden()
    expect(concerns.locator(".el-table__body tr", has_text="强制报告").filter(has_text="已确认").first).to_be_visible()

    page.get_by_role("menuitem", name="通知与配置").click()
    expect(page.get_by_test_id("setup")).to_contain_text("通知配置")
    expect(page.get_by_test_id("setup")).not_to_contain_text("registered")  # said in Chinese, what to do
    expect(page.get_by_test_id("undeliverable")).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, "42-notices")
    check_accessibility(page)


def test_township_clerk_downloads_the_work_summary_and_the_officer_reads_the_assessment(page: Page, tmp_path: Path) -> None:
    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="报表").click()
    expect(page.get_by_role("heading", name="报表")).to_be_visible()
    page.get_by_role("radio", name=re.compile(r"^\d{4}年$")).click(force=True)  # this year so far
    choose(page, page, "范围", "顶云街道")
    for kind, magic in (("docx", b"PK"), ("xlsx", b"PK"), ("pdf", b"%PDF")):
        with page.expect_download() as download:
            page.get_by_test_id(f"download-{kind}").click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.name.startswith("工作总结-顶云街道-") and saved.suffix == f".{kind}"
        assert saved.read_bytes()[:len(magic)] == magic
    expect(page.get_by_test_id("assessment")).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, "43-reports")
    check_accessibility(page)

    page.get_by_role("button", name="退出登录").click()
    sign_in(page, "county_officer")
    page.get_by_role("menuitem", name="报表").click()
    page.get_by_role("radio", name="乡镇（街道）").click(force=True)
    rows = page.get_by_test_id("assessment").locator(".el-table__body tr")
    expect(rows.first).to_be_visible()
    assert any("顶云街道" in text for text in rows.all_inner_texts())
    screenshot(page, "44-assessment-townships")
    check_accessibility(page)


def test_township_clerk_looks_at_a_ledger_and_downloads_it_as_excel_and_pdf(page: Page, tmp_path: Path) -> None:
    import openpyxl
    from pypdf import PdfReader

    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="报表").click()  # /reports itself is the reports API's path at the gateway
    page.get_by_role("radio", name=re.compile(r"^\d{4}年$")).click(force=True)  # this year so far
    choose(page, page, "范围", "顶云街道")
    ledgers = page.get_by_test_id("ledgers")
    ledgers.get_by_role("radio", name="结对帮扶名册").click(force=True)
    ledgers.get_by_test_id("ledger-preview").click()
    expect(ledgers.get_by_test_id("ledger-title")).to_contain_text("结对帮扶名册")
    expect(ledgers.get_by_test_id("ledger-title")).to_contain_text("顶云街道")
    table = ledgers.get_by_test_id("ledger-rows")
    expect(table.locator("thead")).to_contain_text("帮扶人")
    first = table.locator(".el-table__body tr").first
    expect(first).to_contain_text("顶云街道")
    child = first.locator("td").first.inner_text().strip()
    assert child and child != "—"  # named by the registry when the ledger is made
    screenshot(page, "45-reports-ledger")
    check_accessibility(page)

    with page.expect_download() as download:
        ledgers.get_by_test_id("ledger-xlsx").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("结对帮扶名册台账-顶云街道-") and saved.suffix == ".xlsx"
    sheet = openpyxl.load_workbook(saved).active
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert any("结对帮扶名册" in c for c in cells) and child in cells

    ledgers.get_by_role("radio", name="一人一档").click(force=True)
    expect(ledgers.get_by_test_id("ledger-rows")).to_have_count(0)  # the preview was of the other ledger
    with page.expect_download() as download:
        ledgers.get_by_test_id("ledger-pdf").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("一人一档台账-顶云街道-") and saved.suffix == ".pdf"
    assert saved.read_bytes()[:4] == b"%PDF"
    assert "一人一档" in "".join(p.extract_text() for p in PdfReader(saved).pages)

"""批量导入 beyond the template (the fixtures of test_console.py): a township clerk checks and
corrects the column mapping the registry proposes for a sheet with the county's own headers
(a refusal is shown), then applies the updates a later sheet proposes for a registered child."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from playwright.sync_api import Page, expect

from tests.registry.helpers import national_id
from tests.registry.sheet_files import row, xlsx
from tests.web import test_console
from tests.web.console import click_item, screenshot
from tests.web.test_console import check_accessibility, sign_in

page = test_console.page  # the desk-sized, zh-CN page of the console's tests (a fixture)


def map_header(page: Page, header: str, column: str) -> None:
    mapping = page.get_by_test_id("import-mapping")
    mapping.locator(".el-table__body tr", has_text=header).locator(".el-select").click()
    page.keyboard.type(column)  # the list is long: narrow it as a clerk would
    click_item(page.locator(".el-select-dropdown__item:visible", has_text=column).first)


def upload(page: Page, path) -> None:
    page.get_by_test_id("import-file").set_input_files(str(path))
    page.get_by_role("button", name="上传并导入").click()


def test_township_clerk_confirms_a_mapping_and_applies_a_sheets_updates(page: Page, tmp_path) -> None:
    born = date(2012, 1, 1) + timedelta(days=uuid.uuid4().int % 3000)
    the_id = national_id(born, "female", region="520424", sequence=uuid.uuid4().int % 100)
    # The county's own survey headers; the ID column's is new each run, so the mapping the county
    # confirmed before (kept by the registry) does not cover this sheet and one is proposed.
    id_header = f"证件{uuid.uuid4().hex[:4]}"
    headers = ["儿童姓名", id_header, "乡镇", "手机号", "备注"]
    survey = tmp_path / "摸排表.xlsx"
    survey.write_bytes(xlsx([["黄思琪", the_id, "顶云街道", "13800138001", ""]], headers=headers))

    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="批量导入").click()
    upload(page, survey)
    job = page.get_by_test_id("import-job")
    expect(job).to_contain_text("待确认列对应", timeout=60_000)
    mapping = page.get_by_test_id("import-mapping")
    expect(mapping.locator(".el-table__body tr", has_text=id_header)).to_contain_text("身份证号")  # proposed
    screenshot(page, "60-import-mapping")
    check_accessibility(page)

    map_header(page, id_header, "不导入")  # without the ID column the registry refuses, and says why
    page.get_by_role("button", name="确认并导入").click()
    expect(page.get_by_test_id("mapping-failure")).to_contain_text("身份证号")
    map_header(page, id_header, "身份证号")
    map_header(page, "手机号", "父亲电话")
    page.get_by_role("button", name="确认并导入").click()
    expect(job).to_contain_text("已完成", timeout=60_000)
    expect(job).to_contain_text("导入 1人")

    # A later sheet from the school (the template's headers) changes the child's class.
    later = tmp_path / "学校填报.xlsx"
    later.write_bytes(xlsx([row(name="黄思琪", national_id=the_id, gender="", birth_date="", county_code="520424000000",
                                township_code="520424002000", village_code="", school_id="", categories="",
                                left_behind_type="", grade="五年级", class_name="3班")]))
    upload(page, later)
    expect(job).to_contain_text("已完成", timeout=60_000)
    changes = page.get_by_test_id("sheet-changes")
    expect(changes).to_contain_text("黄思琪")
    expect(changes).to_contain_text("→ 3班")
    screenshot(page, "61-import-changes")
    check_accessibility(page)
    changes.get_by_test_id("apply-all").click()
    expect(page.get_by_test_id("changes-outcome")).to_contain_text("已更新 1人")
    expect(changes).to_contain_text("已更新")

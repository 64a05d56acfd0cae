"""A survey sheet laid out as counties lay them out, not as the template: a title merged
across the columns and a 填报单位 line above the header, a village merged down over its
children's rows, and 出生年月 (the birth month, which only the ID completes). Another real
county (郸城, 411625) and its own names. Every valid row is registered; every defective one
is refused on its own sheet row and column, with the reason in Chinese."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook

from tests.registry.helpers import birth_year, national_id, staff_headers

pytestmark = pytest.mark.clock

DANCHENG = "411625000000"
WUTAI = "411625101000"              # 吴台镇
JINCAIYUAN = "411625101202"         # 晋菜园村民委员会
ZHANGLOU = "411625101203"           # 张楼村民委员会
STAFF = staff_headers(DANCHENG, subject="dancheng-clerk")
HEADERS = ["序号", "姓名", "性别", "身份证号码", "出生年月", "乡镇（街道）", "村（社区）", "年级", "留守类型",
           "监护人姓名", "与儿童关系", "监护人联系电话"]


def _workbook(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["郸城县农村留守儿童摸底排查登记表"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet.append(["填报单位：吴台镇中心校", None, None, "填报时间：2026年11月"])
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    # 晋菜园村 written once, merged down over its first two children (sheet rows 4 and 5)
    sheet.merge_cells("G4:G5")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def _run(registry, content: bytes) -> dict:
    answer = await registry.client.post("/v1/imports", headers=STAFF,
                                        files={"file": ("郸城县摸底表.xlsx", content, "application/x")})
    assert answer.status_code == 202, answer.text
    while await registry.runner.run_once():
        pass
    return (await registry.client.get(f"/v1/imports/{answer.json()['id']}", headers=STAFF)).json()


async def test_a_sheet_with_a_title_merged_villages_and_birth_months_imports(registry) -> None:
    year = birth_year(10)
    first, second, third = (date(year, 3, 14), date(year - 1, 11, 2), date(year + 1, 10, 5))
    ids = [national_id(first, "female", region="411625", sequence=1),
           national_id(second, "male", region="411625", sequence=2),
           national_id(third, "male", region="411625", sequence=3),
           national_id(date(year, 9, 9), "female", region="411625", sequence=4)]
    rows = [
        [1, "张雨涵", "女", ids[0], f"{year}.03", "吴台镇", "晋菜园村", "五年级", "父母均外出", "张德财", "祖父",
         "13903941234"],
        [2, "王子轩", "男", ids[1], f"{year - 1}年11月", "吴台镇", None, "六年级", "父亲外出", "刘秀英", "母亲",
         "15893941212"],
        # a month typed into a number cell: 10 is stored as .1
        [3, "陈浩然", "男", ids[2], float(f"{year + 1}.10"), "411625101000", "张楼村", "四年级", "双亲外出", "陈老栓",
         "外祖父", "13523941616"],
        [4, "周七", "女", ids[3], f"{year + 1}.09", "吴台镇", "张楼村", "三年级", "双亲外出", "周八", "祖父",
         "13903940004"],                                                                  # month disagrees
        [5, "吴九", "女", ids[0], f"{year}.03", "吴台镇", "张楼村", "五年级", "双亲外出", "吴十", "祖父",
         "13903940005"],                                                                  # row 4's ID again
        [6, "赵一", "男", "", f"{year}.05", "吴台镇", "张楼村", "三年级", "双亲外出", "赵二", "祖母",
         "13903940001"],                                                                  # no ID
    ]
    job = await _run(registry, _workbook(rows))
    assert (job["status"], job["rows_total"], job["rows_imported"], job["rows_rejected"]) == ("done", 6, 3, 3), job

    errors = (await registry.client.get(f"/v1/imports/{job['id']}/errors", headers=STAFF)).json()["items"]
    by_row = {(error["row"], error["column"]): error["reason"] for error in errors}
    # the sheet's own row numbers: the title and the 填报单位 line come first, the header is row 3
    assert set(by_row) == {(7, "birth_date"), (8, "national_id"), (9, "national_id")}, by_row
    assert by_row[(7, "birth_date")].startswith("出生年月与身份证号不一致")
    assert by_row[(8, "national_id")].startswith("与第4行身份证号重复")
    assert all("\u4e00" <= reason[0] <= "\u9fff" for reason in by_row.values())

    records = {r["name"]: r for r in await registry.fetch(
        "SELECT name, birth_date, township_code, village_code FROM children WHERE county_code = $1", DANCHENG)}
    assert records.keys() == {"张雨涵", "王子轩", "陈浩然"}
    assert records["张雨涵"]["birth_date"] == first and records["陈浩然"]["birth_date"] == third
    # the merged 晋菜园村 reached the row below it
    assert records["王子轩"]["village_code"] == JINCAIYUAN and records["张雨涵"]["village_code"] == JINCAIYUAN
    assert records["陈浩然"]["village_code"] == ZHANGLOU


async def test_a_header_with_merged_cells_is_refused_with_its_row(registry) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["郸城县农村留守儿童摸底排查登记表"])
    sheet.append(HEADERS)
    sheet.merge_cells("B2:C2")
    buffer = io.BytesIO()
    workbook.save(buffer)
    answer = await registry.client.post("/v1/imports", headers=STAFF,
                                        files={"file": ("表.xlsx", buffer.getvalue(), "application/x")})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["reason"].startswith("表头（第2行）含有合并单元格")

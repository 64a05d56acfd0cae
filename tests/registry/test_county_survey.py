"""A county's survey sheet as its schools send it, not shaped like the template: another
real county (镇宁, 520423), survey headers, the relation words counties use, 单亲外出,
category synonyms, 9-digit township codes, names of townships, villages and schools.
Sent as XLSX, CSV UTF-8 with a BOM and GB18030 CSV: every valid row is accepted after
confirming the proposed mapping once; every defective row is refused with a Chinese
reason on the right cell; the same sheet with changes applies as reviewed updates."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tests.registry.helpers import birth_year, national_id, seed_schools, staff_headers
from tests.registry.sheet_files import xlsx

pytestmark = pytest.mark.clock

ZHENNING = "520423000000"
HUANGGUOSHU = "520423102000"   # 黄果树镇
MACHANG = "520423105000"       # 马厂镇
HEADERS = ["序号", "学生姓名", "性别", "身份证件号", "乡镇（街道）", "村（社区）", "就读学校", "年级", "留守类型",
           "儿童类别", "监护人", "与儿童关系", "监护人联系电话", "父亲外出时间", "是否寄宿", "备注"]
STAFF = staff_headers(ZHENNING, subject="zhenning-clerk")
TOWNSHIP_STAFF = staff_headers(HUANGGUOSHU, role="township_staff", subject="huangguoshu")


def _sheet(first: int) -> tuple[list[list], dict[int, str]]:
    """The survey's rows (IDs from sequence `first` on) and, per defective sheet row, the
    column its refusal must name."""
    year = birth_year(10)

    def person(n: int, gender: str = "male") -> str:
        return national_id(date(year, 1 + n % 12, 1 + n % 27), gender, region="520423", sequence=first + n)

    good = [
        [1, "韦阿龙", "男", person(1), "黄果树镇", "黄果树社区", "黄果树镇中心小学", "四年级", "双亲外出", "留守儿童",
         "韦老汉", "祖父", "13908510001", "2019年3月", "是", ""],
        [2, "杨秀", "女", person(2, "female"), "520423102", "烈山社区", "黄果树镇中心小学", "三年级", "单亲外出",
         "留守儿童、残疾儿童", "罗秀英", "外祖母", "13908510002", "2020-09", "否", "右手残疾"],
        [3, "王小勇", "男", person(3), "520423102000", "520423102003", "2152042301", "五年级", "双亲外出",
         "孤儿", "王二叔", "其他亲属", "13908510003", "", "", ""],
        [4, "陈芳", "女", person(4, "female"), "马厂镇", "马场社区", "马厂镇中学", "初一", "单亲外出另一方无监护能力",
         "留守儿童、服刑人员子女", "陈奶奶", "祖母", "13908510004", "2018.7", "是", ""],
    ]
    duplicate = person(1)
    broken = person(6)
    bad = [
        [5, "韦阿虎", "男", duplicate, "黄果树镇", "黄果树社区", "黄果树镇中心小学", "四年级", "双亲外出", "留守儿童",
         "韦老汉", "祖父", "13908510005", "", "", ""],                                     # another row's ID
        [6, "杨二", "男", broken[:-1] + ("1" if broken[-1] != "1" else "2"), "黄果树镇", "", "", "", "双亲外出",
         "留守儿童", "", "", "", "", "", ""],                                               # check digit
        # 小河村 is 马厂镇's village
        [7, "罗三", "男", person(7), "黄果树镇", "小河村", "", "", "双亲外出", "留守儿童", "", "", "", "", "", ""],
        [8, "罗四", "男", person(8), "黄果树镇", "", "不存在的学校", "", "双亲外出", "留守儿童", "", "", "", "", "", ""],
        [9, "罗五", "男", person(9), "黄果树镇", "", "", "", "双亲外出", "留守儿童", "罗大", "祖父", "1390851",
         "", "", ""],                                                                        # phone
        [10, "罗六", "男", person(10), "520423999", "", "", "", "双亲外出", "留守儿童", "", "", "", "", "", ""],  # township
        [11, "罗七", "男", person(11), "黄果树镇", "", "", "", "父母都在外面", "留守儿童", "", "", "", "", "", ""],
        [12, "罗八", "男", person(12), "黄果树镇", "", "", "", "双亲外出", "留守儿童", "罗九", "干爹", "", "", "", ""],
    ]
    columns = {6: "national_id", 7: "national_id", 8: "village_code", 9: "school_id", 10: "guardian_phone",
               11: "township_code", 12: "left_behind_type", 13: "guardian_relation"}
    return good + bad, columns


async def _seed_schools(registry) -> None:
    """镇宁's schools, once per database (the tests of this module share one)."""
    listed = (await registry.client.get("/v1/schools", headers=STAFF)).json()
    if listed["total"] == 0:
        await seed_schools(registry, ZHENNING, [
            {"name": "黄果树镇中心小学", "township_code": HUANGGUOSHU, "code": "2152042300"},
            {"name": "黄果树镇民族小学", "township_code": HUANGGUOSHU, "code": "2152042301"},
            {"name": "马厂镇中学", "township_code": MACHANG, "stage": "junior"}])


def _csv(rows: list[list], encoding: str) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows([HEADERS, *rows])
    return text.getvalue().encode(encoding)


async def _upload(registry, content: bytes, name: str) -> dict:
    response = await registry.client.post("/v1/imports", headers=STAFF, files={"file": (name, content, "application/x")})
    assert response.status_code == 202, response.text
    return response.json()


async def _run(registry, job_id: str) -> dict:
    while await registry.runner.run_once():
        pass
    return (await registry.client.get(f"/v1/imports/{job_id}", headers=STAFF)).json()


async def _check_report(registry, job: dict, expected: dict[int, str]) -> None:
    assert (job["status"], job["rows_imported"], job["rows_rejected"]) == ("done", 4, len(expected)), job
    errors = (await registry.client.get(f"/v1/imports/{job['id']}/errors", headers=STAFF)).json()["items"]
    refused = {}
    for error in errors:
        assert "\u4e00" <= error["reason"][0] <= "\u9fff", error  # the reason a clerk reads, in Chinese first
        refused.setdefault(error["row"], set()).add(error["column"])
    assert refused.keys() == expected.keys()
    for row, column in expected.items():
        assert column in refused[row], (row, refused[row])
    duplicate = next(e for e in errors if e["row"] == 6)
    assert duplicate["reason"].startswith("与第2行身份证号重复")
    assert job["unmapped_columns"] == ["A 序号", "P 备注"]


async def test_a_county_survey_imports_in_every_format_and_updates_by_review(registry) -> None:
    await _seed_schools(registry)

    rows, expected = _sheet(first=0)
    job = await _upload(registry, xlsx(rows, headers=HEADERS), "镇宁县留守儿童摸底表.xlsx")
    assert job["status"] == "awaiting_mapping"
    assert job["proposed_mapping"]["身份证件号"] == "national_id" and job["proposed_mapping"]["备注"] is None
    confirmed = await registry.client.post(f"/v1/imports/{job['id']}/mapping", json={}, headers=STAFF)
    assert confirmed.status_code == 200, confirmed.text
    await _check_report(registry, await _run(registry, job["id"]), expected)

    # the county's other schools send CSV (Excel's "CSV UTF-8", and GB18030 from WPS or an
    # older Excel): read with the mapping the county confirmed
    for first, encoding in ((40, "utf-8-sig"), (80, "gb18030")):
        rows, expected = _sheet(first=first)
        job = await _upload(registry, _csv(rows, encoding), "摸底表.csv")
        assert job["status"] == "pending", job
        await _check_report(registry, await _run(registry, job["id"]), expected)

    records = {r["name"]: r for r in await registry.fetch(
        "SELECT name, township_code, village_code, school_id, left_behind_type, categories, grade FROM children"
        " WHERE county_code = $1", ZHENNING)}
    assert records["杨秀"]["left_behind_type"] == "one_parent_away_other_able"
    assert records["杨秀"]["categories"] == ["left_behind", "disabled"]
    assert records["王小勇"]["categories"] == ["orphan"] and records["王小勇"]["school_id"] == "2152042301"
    assert records["陈芳"]["township_code"] == MACHANG and records["陈芳"]["village_code"] == "520423105001"
    chen = (await registry.fetch("SELECT id FROM children WHERE name = '陈芳'"))[0]["id"]
    card = (await registry.client.get(f"/v1/children/{chen}", headers=staff_headers(
        ZHENNING, sensitive=True, purpose="check"))).json()
    assert card["sensitive_categories"] == ["incarcerated_parent"] and card["boarding"] is True
    assert card["guardians"][0]["relation"] == "grandparent" and card["guardians"][0]["relation_word"] == "祖母"
    assert card["parents"][0]["away_since"] == "2018-07"

    # next term, the first school sends its sheet again with changes: reviewed updates
    rows, _expected = _sheet(first=0)
    rows[0][7], rows[0][12] = "五年级", "13908519999"      # 韦阿龙: grade, guardian phone
    rows[1][14] = "是"                                      # 杨秀: now boards
    job = await _run(registry, (await _upload(registry, xlsx(rows, headers=HEADERS), "摸底表.xlsx"))["id"])
    assert (job["rows_imported"], job["rows_changed"], job["rows_existing"]) == (0, 2, 2), job
    changes = (await registry.client.get(f"/v1/imports/{job['id']}/changes", headers=TOWNSHIP_STAFF)).json()
    assert {item["name"]: {c["field"] for c in item["changes"]} for item in changes["items"]} == {
        "韦阿龙": {"grade", "guardians.phone"}, "杨秀": {"boarding"}}
    applied = await registry.client.post(f"/v1/imports/{job['id']}/changes/apply", json={}, headers=TOWNSHIP_STAFF)
    assert applied.json() == {"applied": [2, 3], "stale": [], "refused": []}
    # three 韦阿龙 came in (one sheet per format, other IDs): only the first school's changed
    wei = await registry.fetch("SELECT grade, version FROM children WHERE name = '韦阿龙' ORDER BY version DESC")
    assert [(w["grade"], w["version"]) for w in wei] == [("五年级", 2), ("四年级", 1), ("四年级", 1)]


def _xls(rows: list[list]) -> bytes:
    """The sheet in the old binary Excel format (97-2003 .xls), as older Excel and WPS save it."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("摸底表")
    for r, values in enumerate([HEADERS, *rows]):
        for c, value in enumerate(values):
            sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_the_survey_in_old_binary_excel_imports_the_same(registry) -> None:
    await _seed_schools(registry)
    rows, expected = _sheet(first=120)
    job = await _upload(registry, _xls(rows), "摸底表.xls")
    assert job["file_format"] == "xls"
    if job["status"] == "awaiting_mapping":  # this database has not seen the county's mapping yet
        confirmed = await registry.client.post(f"/v1/imports/{job['id']}/mapping", json={}, headers=STAFF)
        assert confirmed.status_code == 200, confirmed.text
    await _check_report(registry, await _run(registry, job["id"]), expected)

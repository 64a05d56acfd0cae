"""The division register: all of China's five levels from the edition the registry ships,
loaded by `migrate`; codes checked against it in the API and in imports; townships and
villages read from 12- or 9-digit codes or names; names shown beside codes; a new edition
adds to the old without losing it."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import date

import asyncpg
from openpyxl import load_workbook

from services.registry import store_divisions
from services.registry.division_data import Edition
from services.registry.divisions import DivisionRegister
from services.registry.sheets import COLUMNS
from tests.registry.helpers import child_body, national_id, staff_headers
from tests.registry.sheet_files import xlsx

GUANLING = "520424000000"       # 关岭布依族苗族自治县
XINPU = "520424108000"          # 新铺镇
DAPANJIANG = "520424108202"     # 大盘江村村民委员会
BAIHE = "520424007000"          # 百合街道 (a 街道: its communities end in 社区居民委员会)


async def test_migrate_loaded_all_of_china_once(registry) -> None:
    levels = dict(await registry.fetch("SELECT level, count(*) FROM divisions GROUP BY level"))
    assert levels[1] == 31 and levels[3] > 2800 and levels[4] > 38000 and levels[5] > 600000
    assert await registry.fetchval("SELECT name FROM divisions WHERE code = $1", DAPANJIANG) == "大盘江村村民委员会"
    assert await registry.fetchval("SELECT parent_code FROM divisions WHERE code = $1", DAPANJIANG) == XINPU
    # `migrate` again (another replica, a retried job): nothing loaded twice.
    assert await store_divisions.load_shipped_editions(registry.database_url) == []
    assert await registry.fetchval("SELECT count(*) FROM division_editions") == 1


async def test_a_new_edition_adds_to_the_old_one(registry, tmp_path) -> None:
    path = tmp_path / "divisions-2099.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerows([("code", "name"), ("52", "贵州省"), ("5204", "安顺市"), ("520424", "关岭布依族苗族自治县"),
                          ("520424108", "新铺镇"), ("520424108202", "大盘江村"), ("520424108299", "新合村")])
    conn = await asyncpg.connect(registry.database_url)
    try:
        assert await store_divisions.load_edition(conn, Edition("2099", "test", path)) == 6
        register = DivisionRegister.from_rows("520424", await store_divisions.divisions_under(conn, "520424"))
    finally:
        await conn.execute("DELETE FROM divisions WHERE edition = '2099'")
        await conn.execute("DELETE FROM division_editions WHERE edition = '2099'")
        await conn.close()
    assert register.edition == "2099"
    assert register.resolve_village(XINPU, "520424108299") == "520424108299"       # new in 2099
    assert register.name_of(DAPANJIANG) == "大盘江村"                               # renamed in 2099
    assert register.name_of("520424108204") == "岭丰村村民委员会"                    # gone in 2099, still named
    assert not register.current.get("520424108204")                                 # … but not accepted


async def test_the_api_refuses_places_the_register_does_not_know(registry) -> None:
    for place, field in (
        ({"county_code": "330102000000", "township_code": "330102999000"}, "body.jurisdiction.township_code"),
        ({"county_code": "330102000000", "township_code": "330102001000", "village_code": "330102001999"},
         "body.jurisdiction.village_code"),
        ({"county_code": "330103000000", "township_code": "330103001000"}, "body.jurisdiction.county_code"),
    ):
        response = await registry.client.post("/v1/children", json=child_body(jurisdiction=place),
                                              headers=staff_headers("330100000000"))
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["field"] == field and " / " in error["reason"]
    assert await registry.fetchval("SELECT count(*) FROM children") == 0


async def test_records_lists_and_exports_name_their_places(registry) -> None:
    body = child_body(national_id=national_id(date(2012, 8, 21), "male", region="520424"), birth_date="2012-08-21",
                      jurisdiction={"county_code": GUANLING, "township_code": XINPU, "village_code": DAPANJIANG})
    created = await registry.client.post("/v1/children", json=body, headers=staff_headers(GUANLING))
    assert created.status_code == 201, created.text
    names = {"county": "关岭布依族苗族自治县", "township": "新铺镇", "village": "大盘江村村民委员会"}
    assert created.json()["jurisdiction_names"] == names
    read = await registry.client.get(f"/v1/children/{created.json()['id']}", headers=staff_headers(GUANLING))
    assert read.json()["jurisdiction_names"] == names
    listed = await registry.client.get("/v1/children", headers=staff_headers(GUANLING))
    assert [item["jurisdiction_names"] for item in listed.json()["items"]] == [names]
    export = await registry.client.get("/v1/exports/children.xlsx", headers=staff_headers(GUANLING))
    sheet = load_workbook(io.BytesIO(export.content)).worksheets[0]
    header, first = [cell.value for cell in sheet[1]], [cell.value for cell in sheet[2]]
    line = dict(zip(header, first))
    assert line["县区 County name"] == "关岭布依族苗族自治县" and line["乡镇（街道） Township name"] == "新铺镇"
    assert line["村（社区） Village name"] == "大盘江村村民委员会" and line["村社区代码 Village"] == DAPANJIANG


async def test_a_county_s_names_are_read_by_other_services(registry) -> None:
    """What the reports service prints instead of codes: public, for any signed-in caller."""
    response = await registry.client.get(f"/v1/divisions/{DAPANJIANG}/names",
                                         headers=staff_headers("330102000000"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["county_code"] == GUANLING and body["edition"] == "2023"
    names = body["names"]
    assert names[GUANLING] == "关岭布依族苗族自治县" and names[XINPU] == "新铺镇"
    assert names[DAPANJIANG] == "大盘江村村民委员会" and names[BAIHE] == "百合街道"
    assert all(code.startswith("520424") for code in names) and len(names) > 100
    unknown = await registry.client.get("/v1/divisions/999999000000/names", headers=staff_headers(GUANLING))
    assert unknown.status_code == 200 and unknown.json()["names"] == {}
    malformed = await registry.client.get("/v1/divisions/5204/names", headers=staff_headers(GUANLING))
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["field"] == "path.code"
    assert (await registry.client.get(f"/v1/divisions/{GUANLING}/names")).status_code == 401


def _row(**values: object) -> list[object]:
    return [values.get(column.key, "") for column in COLUMNS]


async def test_an_import_reads_townships_and_villages_by_code_short_code_or_name(registry) -> None:
    ids = [national_id(date(2012, 1, 1 + n), "female", region="520424", sequence=n) for n in range(8)]
    base = {"categories": "留守儿童", "left_behind_type": "双亲外出"}
    rows = [
        _row(name="甲", national_id=ids[0], township_code=XINPU, village_code=DAPANJIANG, **base),   # 2 codes
        _row(name="乙", national_id=ids[1], township_code="520424108", village_code="大盘江村", **base),  # short
        _row(name="丙", national_id=ids[2], township_code="新铺镇", village_code="大盘江村村民委员会", **base),
        _row(name="丁", national_id=ids[3], township_code="百合街道", **base),                 # no village
        _row(name="戊", national_id=ids[4], township_code="520424999", **base),                # no such township
        _row(name="己", national_id=ids[5], township_code="新铺镇", village_code="不存在村", **base),
        _row(name="庚", national_id=ids[6], township_code="新铺镇", village_code="520424107201", **base),  # other township's
        _row(name="辛", national_id=ids[7], township_code="清波街道", **base),                 # another county's
    ]
    # No county column at all: the uploader's county.
    headers = [column.header for column in COLUMNS]
    county_index = [column.key for column in COLUMNS].index("county_code")
    content = xlsx([row[:county_index] + row[county_index + 1:] for row in rows],
                   headers=headers[:county_index] + headers[county_index + 1:])
    uploaded = await registry.client.post("/v1/imports", files={"file": ("sheet.xlsx", content, "application/x")},
                                          headers=staff_headers(GUANLING))
    assert uploaded.status_code == 202, uploaded.text
    while await registry.runner.run_once():
        pass
    job = (await registry.client.get(f"/v1/imports/{uploaded.json()['id']}", headers=staff_headers(GUANLING))).json()
    assert (job["rows_imported"], job["rows_rejected"]) == (4, 4)
    stored = await registry.fetch("SELECT name, county_code, township_code, village_code FROM children ORDER BY name")
    places = {row["name"]: (row["county_code"], row["township_code"], row["village_code"]) for row in stored}
    assert places["甲"] == places["乙"] == places["丙"] == (GUANLING, XINPU, DAPANJIANG)
    assert places["丁"] == (GUANLING, BAIHE, None)
    errors = (await registry.client.get(f"/v1/imports/{uploaded.json()['id']}/errors",
                                        headers=staff_headers(GUANLING))).json()
    by_row = {(error["row"], error["column"]): error["reason"] for error in errors["items"]}
    assert "乡镇" in by_row[(6, "township_code")] and "村" in by_row[(7, "village_code")]
    assert (8, "village_code") in by_row and (9, "township_code") in by_row


def test_the_demo_county_and_the_test_places_are_real() -> None:
    """`make up`'s demo county and the benchmark's sheet (services/demo.py), and the places
    the tests register children in, are in the register: the registry refuses others."""
    from services import demo
    from tests.registry.helpers import county_register
    from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE

    guanling = county_register(demo.COUNTY[:6])
    for township, villages in demo.VILLAGES.items():
        for village in villages:
            guanling.check(demo.COUNTY, township, village)
    county_register(COUNTY[:6]).check(COUNTY, TOWNSHIP, VILLAGE)

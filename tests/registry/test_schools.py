"""The school register on real PostgreSQL: county staff enter schools by API and from a
sheet; once a county keeps a register, a child's school must be one of it, and import
sheets may name a school by its name or 学校标识码."""

from __future__ import annotations

from datetime import date

import pytest

from tests.registry.helpers import birth_year, national_id, seed_schools, staff_headers
from tests.registry.sheet_files import xlsx

pytestmark = pytest.mark.clock

GUANLING = "520424000000"
XINPU = "520424108000"      # 新铺镇
HUAJIANG = "520424110000"   # 花江镇


async def test_county_staff_keep_the_register_and_others_read_it(registry) -> None:
    first, = await seed_schools(registry, GUANLING, [
        {"id": "xinpu-central", "name": "新铺镇中心小学", "township_code": XINPU, "code": "2152042401", "head": "罗校长"}])
    assert (first["township_name"], first["stage_label"], first["version"]) == ("新铺镇", "小学", 1)
    twice = await registry.client.post("/v1/schools", headers=staff_headers(GUANLING),
                                       json={"name": "新铺镇中心小学", "township_code": XINPU, "stage": "primary"})
    assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "body.name"
    elsewhere = await registry.client.post("/v1/schools", headers=staff_headers(GUANLING),
                                           json={"name": "某校", "township_code": "520423102000", "stage": "primary"})
    assert elsewhere.status_code == 422 and elsewhere.json()["errors"][0]["field"] == "body.township_code"
    township = await registry.client.post("/v1/schools", headers=staff_headers(XINPU, role="township_staff"),
                                          json={"name": "某校", "township_code": XINPU, "stage": "primary"})
    assert township.status_code == 403

    sheet = xlsx([["花江镇中学", "2152042402", "花江镇", "初中", "王校长"],
                  ["花江镇坝山小学", "", "520424110", "九年制", ""],
                  ["坏学段学校", "", "花江镇", "大学", ""],
                  ["无乡镇学校", "", "", "小学", ""]], headers=["学校名称", "学校标识码", "乡镇", "学段", "校长"])
    imported = await registry.client.post("/v1/schools/import", headers=staff_headers(GUANLING),
                                          files={"file": ("学校.xlsx", sheet, "application/x")})
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 2 and imported.json()["updated"] == 0
    assert [(e["row"], e["column"]) for e in imported.json()["errors"]] == [(4, "stage"), (5, "township_code")]

    page = (await registry.client.get("/v1/schools?limit=2", headers=staff_headers(GUANLING))).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next_cursor"]
    rest = (await registry.client.get(f"/v1/schools?limit=2&cursor={page['next_cursor']}",
                                      headers=staff_headers(GUANLING))).json()
    assert [s["name"] for s in page["items"] + rest["items"]] == ["新铺镇中心小学", "花江镇中学", "花江镇坝山小学"]
    assert rest["next_cursor"] is None
    nine_year = next(s for s in page["items"] + rest["items"] if s["name"] == "花江镇坝山小学")
    assert nine_year["stage"] == "nine_year" and nine_year["township_code"] == HUAJIANG
    school_staff = await registry.client.get(f"/v1/schools/{first['id']}", headers=staff_headers(GUANLING, role="school_staff"))
    assert school_staff.status_code == 200
    renamed = await registry.client.patch(f"/v1/schools/{first['id']}", json={"head": "杨校长"},
                                          headers={**staff_headers(GUANLING), "If-Match": '"1"'})
    assert renamed.status_code == 200 and renamed.json()["head"] == "杨校长" and renamed.json()["version"] == 2

    # records: once the county keeps a register, school_id must name one of its schools
    body = {"name": "罗小花", "gender": "female", "birth_date": f"{birth_year(8)}-06-01",
            "jurisdiction": {"county_code": GUANLING, "township_code": XINPU}}
    unknown = await registry.client.post("/v1/children", json={**body, "school_id": "no-such-school"},
                                         headers=staff_headers(GUANLING))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.school_id"
    assert "学校名录" in unknown.json()["errors"][0]["reason"]
    known = await registry.client.post("/v1/children", json={**body, "school_id": "xinpu-central"},
                                       headers=staff_headers(GUANLING))
    assert known.status_code == 201, known.text

    # a sheet names schools by name or 学校标识码
    year = birth_year(9)
    ids = [national_id(date(year, 7, 1 + n), "male", region="520424", sequence=60 + n) for n in range(3)]
    rows = [["罗一", ids[0], "新铺镇", "新铺镇中心小学"], ["罗二", ids[1], "花江镇", "2152042402"],
            ["罗三", ids[2], "花江镇", "不存在的学校"]]
    uploaded = await registry.client.post(
        "/v1/imports", headers=staff_headers(GUANLING),
        files={"file": ("s.xlsx", xlsx(rows, headers=["姓名", "身份证号", "乡镇", "学校名称"]), "application/x")})
    assert uploaded.status_code == 202, uploaded.text
    while await registry.runner.run_once():
        pass
    job = (await registry.client.get(f"/v1/imports/{uploaded.json()['id']}", headers=staff_headers(GUANLING))).json()
    assert (job["rows_imported"], job["rows_rejected"]) == (2, 1)
    errors = (await registry.client.get(f"/v1/imports/{job['id']}/errors", headers=staff_headers(GUANLING))).json()
    assert [(e["row"], e["column"]) for e in errors["items"]] == [(4, "school_id")]
    schools = {r["name"]: r["school_id"] for r in await registry.fetch("SELECT name, school_id FROM children")}
    middle = next(s for s in page["items"] if s["name"] == "花江镇中学")
    assert schools["罗一"] == "xinpu-central" and schools["罗二"] == middle["id"] == "2152042402"

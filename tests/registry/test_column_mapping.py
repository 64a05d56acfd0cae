"""Column mapping on real PostgreSQL: a sheet whose headers the registry does not all know
waits with a proposed mapping (by values and by header likeness); the clerk edits and
confirms it; the job runs; the county's next sheet is read with the confirmed mapping."""

from __future__ import annotations

from datetime import date

import pytest

from tests.registry.helpers import birth_year, national_id, staff_headers
from tests.registry.sheet_files import xlsx

pytestmark = pytest.mark.clock

GUANLING = "520424000000"
HEADERS = ["儿童姓名", "证件", "乡镇", "手机号", "备注"]


def _rows(first_sequence: int) -> list[list]:
    year = birth_year(9)
    return [[f"黄{'甲乙丙'[n]}", national_id(date(year, 4, 1 + n), "male", region="520424",
                                           sequence=first_sequence + n), "新铺镇", f"1380013800{n}", ""]
            for n in range(3)]


async def _upload(registry, rows, headers=HEADERS):
    response = await registry.client.post("/v1/imports", headers=staff_headers(GUANLING),
                                          files={"file": ("调查表.xlsx", xlsx(rows, headers=headers), "application/x")})
    assert response.status_code == 202, response.text
    return response.json()


async def test_a_proposed_mapping_is_confirmed_edited_and_kept_for_the_county(registry) -> None:
    job = await _upload(registry, _rows(10))
    assert job["status"] == "awaiting_mapping"
    assert job["proposed_mapping"] == {"儿童姓名": "name", "证件": "national_id", "乡镇": "township_code",
                                       "手机号": "guardian_phone", "备注": None}
    assert not await registry.runner.run_once(), "a job awaiting its mapping is not run"

    url = f"/v1/imports/{job['id']}/mapping"
    unknown = await registry.client.post(url, json={"mapping": {"手机号": "phone"}}, headers=staff_headers(GUANLING))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.mapping.手机号"
    twice = await registry.client.post(url, json={"mapping": {"备注": "name"}}, headers=staff_headers(GUANLING))
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "body.mapping"
    no_id = await registry.client.post(url, json={"mapping": {"证件": None}}, headers=staff_headers(GUANLING))
    assert no_id.status_code == 422 and "身份证号" in no_id.json()["errors"][0]["reason"]

    confirmed = await registry.client.post(url, json={"mapping": {"手机号": "father_phone"}},
                                           headers=staff_headers(GUANLING))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "pending" and confirmed.json()["columns"]["手机号"] == "father_phone"
    assert confirmed.json()["unmapped_columns"] == ["E 备注"]
    again = await registry.client.post(url, json={}, headers=staff_headers(GUANLING))
    assert again.status_code == 409
    while await registry.runner.run_once():
        pass
    done = (await registry.client.get(f"/v1/imports/{job['id']}", headers=staff_headers(GUANLING))).json()
    assert (done["status"], done["rows_imported"], done["rows_rejected"]) == ("done", 3, 0)
    child = (await registry.fetch("SELECT id FROM children WHERE name = '黄甲'"))[0]["id"]
    record = (await registry.client.get(f"/v1/children/{child}",
                                        headers=staff_headers(GUANLING, sensitive=True, purpose="check"))).json()
    assert record["parents"][0]["relation"] == "father" and record["parents"][0]["phone"] == "+8613800138000"

    # the county's next sheet with these headers: read with the confirmed mapping at once
    next_job = await _upload(registry, _rows(20))
    assert next_job["status"] == "pending" and next_job["columns"]["手机号"] == "father_phone"
    assert next_job["suggested_columns"] == {}

"""What surveys collect beyond the old record, on real PostgreSQL: 在校状态, 寄宿, 学习情况,
爱好, particulars (encrypted, shown only in clear), and 外出时间 to the month."""

from __future__ import annotations

from datetime import date

import pytest

from tests.registry.helpers import birth_year, child_body, national_id, staff_headers
from tests.registry.sheet_files import xlsx

pytestmark = pytest.mark.clock


async def test_the_survey_fields_are_recorded_masked_and_imported(registry) -> None:
    body = child_body(school_status="in_school", boarding=True, study_level="average", hobbies="画画",
                      particulars="患哮喘，需随身带药",
                      parents=[{"relation": "father", "name": "王父", "away_since": "2021年3月"}])
    created = await registry.client.post("/v1/children", json=body, headers=staff_headers())
    assert created.status_code == 201, created.text
    shown = created.json()
    assert (shown["school_status"], shown["boarding"], shown["study_level"], shown["hobbies"]) == (
        "in_school", True, "average", "画画")
    assert shown["particulars"] is None and shown["parents"][0]["away_since"] == "2021-03"
    stored = await registry.fetchval("SELECT particulars_enc FROM children WHERE id::text = $1", shown["id"])
    assert stored and "哮喘" not in stored
    clear = (await registry.client.get(f"/v1/children/{shown['id']}",
                                       headers=staff_headers(sensitive=True, purpose="check"))).json()
    assert clear["particulars"] == "患哮喘，需随身带药"
    kept = await registry.client.patch(f"/v1/children/{shown['id']}", json={"version": 1, "particulars": None,
                                                                           "school_status": "dropped_out"},
                                       headers=staff_headers())
    assert kept.status_code == 200 and kept.json()["school_status"] == "dropped_out"
    clear = (await registry.client.get(f"/v1/children/{shown['id']}",
                                       headers=staff_headers(sensitive=True, purpose="check"))).json()
    assert clear["particulars"] == "患哮喘，需随身带药", "null from a masked reader changes nothing"
    bad_month = await registry.client.post("/v1/children", headers=staff_headers(), json=child_body(
        parents=[{"relation": "mother", "away_since": "2021-13"}]))
    assert bad_month.status_code == 422 and bad_month.json()["errors"][0]["field"] == "body.parents.0.away_since"

    year = birth_year(11)
    ids = [national_id(date(year, 8, 1 + n), "female", sequence=50 + n) for n in range(2)]
    headers = ["姓名", "身份证号", "乡镇代码", "是否在校", "是否寄宿", "学习成绩", "兴趣爱好", "父亲外出时间"]
    rows = [["赵一", ids[0], "330102001000", "在读", "是", "优", "跳绳", "2019年10月"],
            ["赵二", ids[1], "330102001000", "读书", "否", "中", "", "2019-13"]]
    uploaded = await registry.client.post("/v1/imports", headers=staff_headers(),
                                          files={"file": ("s.xlsx", xlsx(rows, headers=headers), "application/x")})
    assert uploaded.status_code == 202, uploaded.text
    while await registry.runner.run_once():
        pass
    errors = (await registry.client.get(f"/v1/imports/{uploaded.json()['id']}/errors", headers=staff_headers())).json()
    assert {(e["row"], e["column"]) for e in errors["items"]} == {(3, "school_status"), (3, "father_away_since")}
    assert all(e["reason"][0] > "\u2e80" for e in errors["items"]), "reasons in Chinese first"
    child = (await registry.fetch("SELECT id FROM children WHERE name = '赵一'"))[0]["id"]
    record = (await registry.client.get(f"/v1/children/{child}", headers=staff_headers())).json()
    assert (record["school_status"], record["boarding"], record["study_level"], record["hobbies"]) == (
        "in_school", True, "good", "跳绳")
    assert record["parents"][0]["away_since"] == "2019-10"

    counts = (await registry.client.get("/v1/statistics?by=school_status", headers=staff_headers())).json()
    by_status = {c["key"]: (c["count"], c.get("label")) for c in counts["school_status"]}
    assert by_status["in_school"] == (1, "在校") and by_status["dropped_out"] == (1, "辍学")

"""Statistics, completeness (建档率) and the XLSX export, on real PostgreSQL, per role."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from tests.registry.helpers import child_body, full_child_body, national_id, staff_headers
from tests.support.auth import COUNTY, TOWNSHIP

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock

T2 = "330102003000"  # 湖滨街道


async def _seed(registry) -> None:
    bodies = [
        full_child_body(),
        child_body(name="李红", gender="female", categories=["migrant"], school_id="school-2"),
        child_body(name="张强", birth_date="2011-05-05", sensitive_categories=["hiv_affected"],
                   left_behind_type="one_parent_away_other_unable",
                   jurisdiction={"county_code": COUNTY, "township_code": T2, "village_code": "330102003050"},
                   school_id="school-3"),
    ]
    for body in bodies:
        response = await registry.client.post("/v1/children", json=body, headers=staff_headers())
        assert response.status_code == 201, response.text


async def test_statistics_by_public_dimensions_and_sensitive_only_with_permission(registry) -> None:
    await _seed(registry)
    stats = (await registry.client.get("/v1/statistics", headers=staff_headers())).json()
    assert stats["total"] == 3
    assert {e["key"]: e["count"] for e in stats["township"]} == {TOWNSHIP: 2, T2: 1}
    assert {e["key"]: e["count"] for e in stats["gender"]} == {"male": 2, "female": 1}
    assert {e["key"]: e["count"] for e in stats["category"]} == {"left_behind": 2, "migrant": 1}
    assert {e["key"]: e["label"] for e in stats["township"]} == {TOWNSHIP: "清波街道", T2: "湖滨街道"}
    assert {e["key"]: e["label"] for e in stats["category"]} == {"left_behind": "留守儿童", "migrant": "流动儿童"}
    assert {e["label"] for e in stats["gender"]} == {"男", "女"}
    assert {e["key"]: e["count"] for e in stats["age_band"]}["14-15"] == 1
    assert "sensitive_category" not in stats
    assert "hiv" not in str(stats) and "incarcerated" not in str(stats)

    refused = await registry.client.get("/v1/statistics?by=sensitive_category", headers=staff_headers(purpose="x"))
    assert refused.status_code == 403
    allowed = await registry.client.get("/v1/statistics?by=sensitive_category&by=township",
                                        headers=staff_headers(sensitive=True, purpose="annual%20report"))
    assert allowed.status_code == 200
    assert {e["key"]: e["count"] for e in allowed.json()["sensitive_category"]} == {
        "hiv_affected": 1, "incarcerated_parent": 1}
    assert await registry.fetchval("SELECT count(*) FROM read_audit WHERE action = 'statistics'") == 1

    township = (await registry.client.get("/v1/statistics", headers=staff_headers(T2, role="township_staff"))).json()
    assert township["total"] == 1


async def test_completeness_names_who_has_not_reported_and_the_rate(registry) -> None:
    for body in ({"kind": "township", "code": TOWNSHIP, "township_code": TOWNSHIP, "expected": 4},
                 {"kind": "township", "code": "330102005000", "township_code": "330102005000", "expected": 10},
                 {"kind": "school", "code": "school-2", "township_code": TOWNSHIP, "expected": 1},
                 {"kind": "school", "code": "school-silent", "township_code": TOWNSHIP, "expected": 30}):
        response = await registry.client.put("/v1/expected-counts", json=body, headers=staff_headers())
        assert response.status_code == 200, response.text
    outside = await registry.client.put("/v1/expected-counts", headers=staff_headers(T2, role="township_staff"),
                                        json={"kind": "township", "code": TOWNSHIP, "township_code": TOWNSHIP,
                                              "expected": 1})
    assert outside.status_code == 403
    published = await registry.fetch(
        "SELECT message_key, payload FROM outbox WHERE event_type = 'cn.shouhu.ExpectedCountSet.v1' ORDER BY id")
    assert [(row["message_key"], row["payload"]["expected"]) for row in published] == [
        (TOWNSHIP, 4), ("330102005000", 10), ("school-2", 1), ("school-silent", 30)]  # the refused one is not there
    first = (await registry.client.get("/v1/expected-counts", params={"limit": 3}, headers=staff_headers())).json()
    rest = (await registry.client.get("/v1/expected-counts", params={"limit": 3, "cursor": first["next_cursor"]},
                                      headers=staff_headers())).json()
    assert [(e["kind"], e["code"]) for e in first["items"] + rest["items"]] == [
        ("school", "school-2"), ("school", "school-silent"), ("township", TOWNSHIP), ("township", "330102005000")]
    assert rest["next_cursor"] is None
    report = (await registry.client.get("/v1/statistics/completeness", headers=staff_headers())).json()
    assert report["not_reported"] == {"townships": ["330102005000"], "schools": ["school-silent"]}
    rates = {e["code"]: e["rate"] for e in report["townships"] + report["schools"]}
    assert rates[TOWNSHIP] == 0.5 and rates["school-2"] == 1.0 and rates["330102005000"] == 0.0
    assert report["rate"] == round(2 / 14, 4)


async def test_export_is_masked_unless_unmasked_with_purpose(registry) -> None:
    body = full_child_body(national_id=national_id(date(2016, 3, 9), "male", sequence=55))
    created = await registry.client.post("/v1/children", json=body, headers=staff_headers())
    assert created.status_code == 201, created.text

    masked = await registry.client.get(f"/v1/exports/children.xlsx?township_code={TOWNSHIP}", headers=staff_headers())
    assert masked.status_code == 200
    sheet = load_workbook(io.BytesIO(masked.content)).worksheets[0]
    text = str(list(sheet.iter_rows(values_only=True)))
    assert body["national_id"] not in text and "8613800138000" not in text and "138****8000" in text
    assert "困境类别" not in text and "服刑在押" not in text and "王小明" in text

    clear = await registry.client.get("/v1/exports/children.xlsx", headers=staff_headers(sensitive=True, purpose="audit"))
    text = str(list(load_workbook(io.BytesIO(clear.content)).worksheets[0].iter_rows(values_only=True)))
    assert body["national_id"] in text and "服刑在押人员子女" in text
    assert await registry.fetchval("SELECT count(*) FROM read_audit WHERE action = 'export'") == 1

    elsewhere = await registry.client.get("/v1/exports/children.xlsx", headers=staff_headers("330103000000"))
    rows = list(load_workbook(io.BytesIO(elsewhere.content)).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 1  # the header only


async def test_lists_are_masked_per_role(registry) -> None:
    plain = (await registry.client.get("/v1/children", headers=staff_headers())).json()["items"]
    assert plain and all(item["masked"] for item in plain)
    assert all(item["sensitive_categories"] is None for item in plain)
    school = (await registry.client.get("/v1/children", headers=staff_headers(
        TOWNSHIP, role="school_staff", sensitive=True))).json()["items"]
    assert school and all(item["masked"] for item in school)  # no purpose stated
    audited_before = await registry.fetchval("SELECT count(*) FROM read_audit")
    clear = (await registry.client.get("/v1/children", headers=staff_headers(sensitive=True, purpose="review"))).json()
    assert any(item["sensitive_categories"] for item in clear["items"])
    assert await registry.fetchval("SELECT count(*) FROM read_audit") == audited_before + 1

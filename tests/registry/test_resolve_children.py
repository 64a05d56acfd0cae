"""POST /v1/children/resolve: another service (pairing, reading an aid distribution sheet)
learns which child a 身份证号, or a 姓名 and 出生日期, names — ids only, within its scope
narrowed to the person it acts for, each call audited; an ID that fails the registry's own
check (check digit, region code) is named as the fault, never matched."""

from __future__ import annotations

from datetime import date

from tests.registry.helpers import child_body, national_id, staff_headers
from tests.support.auth import COUNTY, OTHER_COUNTY, TOWNSHIP, bearer

SERVICE = bearer(roles=["service"], jurisdiction="000000000000", subject="service:pairing")


async def _child(registry, **body) -> str:
    created = await registry.client.post("/v1/children", json=child_body(**body), headers=staff_headers())
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def test_ids_by_national_id_or_by_name_and_birth_date(registry) -> None:
    first = national_id(date(2015, 5, 6), "female")
    a = await _child(registry, name="赵雨桐", gender="female", birth_date="2015-05-06", national_id=first)
    b = await _child(registry, name="钱浩然", gender="male", birth_date="2014-11-20")
    # Two open records share a name and a birthday: asked by those alone, neither is chosen.
    twins = [await _child(registry, name="孙一一", gender="male", birth_date="2016-01-02") for _ in range(2)]
    bad_check = first[:17] + ("0" if first[17] != "0" else "1")
    no_region = national_id(date(2015, 5, 6), "male", region="999999")
    request = {"items": [
        {"national_id": first.lower() if first.endswith("X") else first},
        {"name": "钱浩然", "birth_date": "2014年11月20日"},
        {"name": "孙一一", "birth_date": "2016-01-02"},
        {"national_id": national_id(date(2015, 5, 6), "female")},  # valid, nobody's
        {"national_id": bad_check},
        {"national_id": no_region},
        {"name": "钱浩然", "birth_date": "2014-13-40"},
    ]}
    answer = await registry.client.post("/v1/children/resolve", json=request, headers=SERVICE)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["child_id"], r["matches"], r["field"]) for r in results] == [
        (a, 1, None), (b, 1, None), (None, 2, None), (None, 0, None),
        (None, 0, "national_id"), (None, 0, "national_id"), (None, 0, "birth_date")]
    assert "校验码" in results[4]["reason"] and "地区代码" in results[5]["reason"]
    # Ids only: no name, birth date or ID comes back.
    assert "赵雨桐" not in answer.text and first not in answer.text and "2015" not in answer.text
    audited = await registry.fetch(
        "SELECT record_ids, fields, purpose FROM read_audit WHERE action = 'resolve_children' AND subject = $1",
        "service:pairing")
    assert [(sorted(map(str, r["record_ids"])), r["fields"]) for r in audited] == [
        (sorted([a, b]), ["birth_date", "name", "national_id"])]
    assert set(twins).isdisjoint(str(i) for r in audited for i in r["record_ids"])

    # Narrowed to another township, or asked by a service of another county: not found.
    elsewhere = await registry.client.post("/v1/children/resolve", headers=SERVICE,
                                           json={"jurisdiction": TOWNSHIP[:6] + "999000", "items": request["items"][:2]})
    assert [r["matches"] for r in elsewhere.json()["results"]] == [0, 0]
    other = bearer(roles=["service"], jurisdiction=OTHER_COUNTY, subject="service:pairing-elsewhere")
    outside = await registry.client.post("/v1/children/resolve", headers=other, json=request)
    assert [r["child_id"] for r in outside.json()["results"][:3]] == [None, None, None]
    widened = await registry.client.post("/v1/children/resolve", headers=other,
                                         json={"jurisdiction": COUNTY, "items": request["items"][:1]})
    assert widened.status_code == 403
    # A school narrows too: the twins' school is school-1 (child_body's), so another school sees nobody.
    school = await registry.client.post("/v1/children/resolve", headers=SERVICE,
                                        json={"school_id": "school-9", "items": request["items"][:1]})
    assert school.json()["results"][0]["matches"] == 0

    # A closed record: still found by its ID (the caller decides), but no longer by name.
    closed = await registry.client.post(f"/v1/children/{b}/close", headers={**staff_headers(), "If-Match": '"1"'},
                                        json={"reason": "parents_returned"})
    assert closed.status_code == 200, closed.text
    after = await registry.client.post("/v1/children/resolve", headers=SERVICE, json={"items": request["items"][1:2]})
    assert after.json()["results"][0]["matches"] == 0


async def test_only_services_and_well_formed_bodies(registry) -> None:
    item = {"national_id": national_id(date(2015, 5, 6), "female")}
    staff = await registry.client.post("/v1/children/resolve", headers=staff_headers(), json={"items": [item]})
    assert staff.status_code == 403
    for body in ({"items": []}, {"items": [{"name": "王小明"}]}, {"items": [{**item, "name": "王"}]},
                 {"items": [item], "x": 1}, {"items": [item] * 2001}):
        refused = await registry.client.post("/v1/children/resolve", headers=SERVICE, json=body)
        assert refused.status_code == 422, str(body)[:80]
        assert item["national_id"] not in refused.text
    unknown = await registry.client.post("/v1/children/resolve", headers=SERVICE,
                                         json={"items": [{"name": "王小明", "birth_date": "2016-03-09"}]})
    assert unknown.status_code == 200 and unknown.json()["results"][0] == {
        "child_id": None, "matches": 0, "field": None, "reason": None}

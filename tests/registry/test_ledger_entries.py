"""What the reports service reads to print a ledger (POST /v1/children/ledger-entries): for
role `service` in its jurisdiction only, the 一人一档 summary and 联系卡 fields with the school
by name; phones masked unless read with view_sensitive and a stated purpose; every read
audited (the names always, the phones when in clear)."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from tests.registry.helpers import full_child_body, seed_schools, staff_headers
from tests.support.auth import COUNTY, OTHER_COUNTY, bearer

URL = "/v1/children/ledger-entries"


def service(jurisdiction: str = COUNTY, **extra: str) -> dict[str, str]:
    return {**bearer(roles=["service"], jurisdiction=jurisdiction, subject="service:reports",
                     permissions=["view_sensitive"]), **extra}


async def test_the_ledger_reads_the_card_masked_and_audited(registry) -> None:
    await seed_schools(registry, COUNTY, [{"id": "school-1", "name": "清波小学", "township_code": "330102001000"}])
    created = await registry.client.post("/v1/children", json=full_child_body(name="赵小光"), headers=staff_headers())
    assert created.status_code == 201, created.text
    child_id = created.json()["id"]
    unknown = str(uuid.uuid4())

    answer = await registry.client.post(URL, json={"ids": [child_id, unknown]}, headers=service())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["masked"] is True and list(body["children"]) == [child_id]
    child = body["children"][child_id]
    assert (child["name"], child["gender"], child["birth_date"], child["school_name"]) == (
        "赵小光", "male", "2016-03-09", "清波小学")
    assert child["township_name"] and child["village_name"] and child["grade"] == "三年级"
    assert child["guardians"] == [{"relation": "grandparent", "name": "王奶奶", "phone": "138****8000",
                                   "work_place": None}]
    assert child["parents"][0]["work_place"] == "广东省东莞市" and child["parents"][0]["phone"] == "139****5678"
    for secret in ("national_id", "address", "incarcerated_parent", "服刑", "13800138000"):
        assert secret not in answer.text
    row = (await registry.fetch("SELECT subject, record_ids, fields, purpose FROM read_audit "
                                "WHERE action = 'ledger_entries' ORDER BY id DESC LIMIT 1"))[0]
    assert row["subject"] == "service:reports" and [str(i) for i in row["record_ids"]] == [child_id]
    assert "name" in row["fields"] and "guardians.phone" not in row["fields"] and row["purpose"] == "台账 / ledger"

    clear = await registry.client.post(URL, json={"ids": [child_id]},
                                       headers=service(**{"X-Purpose": quote("核对联系方式（officer-7）")}))
    assert clear.json()["masked"] is False
    assert clear.json()["children"][child_id]["guardians"][0]["phone"] == "+8613800138000"
    row = (await registry.fetch("SELECT fields, purpose FROM read_audit WHERE action = 'ledger_entries' "
                                "ORDER BY id DESC LIMIT 1"))[0]
    assert "guardians.phone" in row["fields"] and row["purpose"] == "核对联系方式（officer-7）"

    # Outside the service's jurisdiction: left out. Staff read records through their own routes.
    other = await registry.client.post(URL, json={"ids": [child_id]}, headers=service(OTHER_COUNTY))
    assert other.status_code == 200 and other.json()["children"] == {}
    assert (await registry.client.post(URL, json={"ids": [child_id]}, headers=staff_headers())).status_code == 403
    refused = await registry.client.post(URL, json={"ids": []}, headers=service())
    assert refused.status_code == 422 and "body.ids" in refused.text


async def test_school_names_for_a_ledger_by_role_service_in_its_jurisdiction(registry) -> None:
    """POST /v1/schools/names: the register's names of the schools a ledger prints (the school
    of an activity, a school's heading), for the reports service within its jurisdiction."""
    await seed_schools(registry, COUNTY, [{"id": "school-names-1", "name": "胜利小学", "township_code": "330102001000"}])
    names_url = "/v1/schools/names"
    answer = await registry.client.post(names_url, json={"ids": ["school-names-1", "no-such-school"]},
                                        headers=service())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"names": {"school-names-1": "胜利小学"}}
    other = await registry.client.post(names_url, json={"ids": ["school-names-1"]}, headers=service(OTHER_COUNTY))
    assert other.status_code == 200 and other.json() == {"names": {}}
    staff = await registry.client.post(names_url, json={"ids": ["school-names-1"]}, headers=staff_headers())
    assert staff.status_code == 403
    too_long = await registry.client.post(names_url, json={"ids": ["x" * 65]}, headers=service())
    assert too_long.status_code == 422

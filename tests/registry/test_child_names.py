"""Children's names for the notification service (role `service` or `admin`) and for staff
composing a work list, within the caller's jurisdiction (a school's staff: their school),
every answer audited; bad input is a 422 naming the field."""

from __future__ import annotations

import uuid

from tests.registry.helpers import child_body, seed_schools, staff_headers
from tests.support.auth import COUNTY, OTHER_COUNTY, TOWNSHIP, VILLAGE, bearer


async def test_names_are_for_the_notification_service_in_its_jurisdiction(registry) -> None:
    created = await registry.client.post("/v1/children", json=child_body(name="李思雨", gender="female"),
                                         headers=staff_headers())
    assert created.status_code == 201, created.text
    child_id = created.json()["id"]
    unknown = str(uuid.uuid4())
    service = bearer(roles=["service"], jurisdiction="000000000000", subject="service:notify")

    answer = await registry.client.post("/v1/children/names", json={"ids": [child_id, unknown, child_id]},
                                        headers=service)
    assert answer.status_code == 200, answer.text
    assert answer.json()["names"] == {child_id: "李思雨"}
    assert answer.json()["places"][child_id] == {"township_code": TOWNSHIP, "township_name": "清波街道",
                                                 "village_code": VILLAGE, "village_name": "清波门社区",
                                                 "school_id": "school-1", "school_name": None}
    audited = await registry.fetch(
        "SELECT record_ids, fields, purpose FROM read_audit WHERE action = 'child_names' AND subject = $1",
        "service:notify")
    assert [(r["record_ids"], r["fields"], r["purpose"]) for r in audited] == [
        ([uuid.UUID(child_id)], ["name"], "notification delivery")]

    elsewhere = bearer(roles=["service"], jurisdiction=OTHER_COUNTY, subject="service:notify-elsewhere")
    assert (await registry.client.post("/v1/children/names", json={"ids": [child_id]},
                                       headers=elsewhere)).json() == {"names": {}, "places": {}}
    staff = await registry.client.post("/v1/children/names", json={"ids": [child_id]},
                                       headers=staff_headers(subject="officer-names"))
    assert staff.status_code == 200 and staff.json()["names"] == {child_id: "李思雨"}
    purposes = await registry.fetch("SELECT purpose FROM read_audit WHERE subject = 'officer-names'")
    assert [row["purpose"] for row in purposes] == ["names in a work list"]
    other_school = bearer(roles=["school_staff"], jurisdiction=TOWNSHIP, school_id="school-9")
    assert (await registry.client.post("/v1/children/names", json={"ids": [child_id]},
                                       headers=other_school)).json()["names"] == {}
    caregiver = bearer(roles=["caregiver"], jurisdiction=COUNTY, caregiver_id=str(uuid.uuid4()))
    assert (await registry.client.post("/v1/children/names", json={"ids": [child_id]},
                                       headers=caregiver)).status_code == 403
    for body, field in (({"ids": []}, "ids"), ({"ids": ["not-an-id"]}, "ids"), ({"ids": [child_id], "x": 1}, "x")):
        refused = await registry.client.post("/v1/children/names", json=body, headers=service)
        assert refused.status_code == 422, body
        assert field in refused.text and "李思雨" not in refused.text


async def test_names_say_the_school_by_the_name_in_the_county_register(registry) -> None:
    guanling, xinpu = "520424000000", "520424108000"
    await seed_schools(registry, guanling, [{"id": "xinpu-central", "name": "新铺镇中心小学", "township_code": xinpu}])
    created = await registry.client.post("/v1/children", headers=staff_headers(guanling), json=child_body(
        name="罗小花", gender="female", school_id="xinpu-central",
        jurisdiction={"county_code": guanling, "township_code": xinpu}))
    assert created.status_code == 201, created.text
    child_id = created.json()["id"]
    service = bearer(roles=["service"], jurisdiction="000000000000", subject="service:notify")
    answer = (await registry.client.post("/v1/children/names", json={"ids": [child_id]}, headers=service)).json()
    assert answer["places"][child_id] == {"township_code": xinpu, "township_name": "新铺镇", "village_code": None,
                                          "village_name": None, "school_id": "xinpu-central",
                                          "school_name": "新铺镇中心小学"}

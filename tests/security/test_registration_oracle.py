"""Registering a national ID held in another township reveals only that a record exists
outside the caller's area, and the attempt is audited for the area that holds it."""

from __future__ import annotations

from datetime import date

from services.registry import api_duplicates
from tests.registry.helpers import child_body, national_id, staff_headers
from tests.support.auth import COUNTY, TOWNSHIP

OTHER_TOWNSHIP = "330102003000"  # 湖滨街道, a real township of the same district


def _in(township: str, number: str, **overrides) -> dict:
    return child_body(gender="female", birth_date="2014-02-02", national_id=number,
                      jurisdiction={"county_code": COUNTY, "township_code": township, "village_code": None},
                      **overrides)


async def test_a_national_id_held_elsewhere_reveals_nothing_but_that_and_is_audited(registry) -> None:
    number = national_id(date(2014, 2, 2), "female", sequence=903)
    owner = await registry.client.post("/v1/children", json=_in(TOWNSHIP, number, name="林小雨", school_id="owner-school"),
                                       headers=staff_headers(TOWNSHIP, subject="owner"))
    assert owner.status_code == 201, owner.text
    owner_id = owner.json()["id"]

    probe = await registry.client.post("/v1/children", json=_in(OTHER_TOWNSHIP, number),
                                       headers=staff_headers(OTHER_TOWNSHIP, subject="prober"))
    assert probe.status_code == 409
    assert probe.json()["errors"] == [{"field": "body.national_id", "reason": api_duplicates.OUTSIDE}]
    for secret in (owner_id, TOWNSHIP, "林小雨", "owner-school", number):
        assert secret not in probe.text
    audit = await registry.fetch("SELECT * FROM read_audit WHERE subject = 'prober'")
    assert [(row["action"], [str(i) for i in row["record_ids"]], row["fields"]) for row in audit] == [
        ("registration_conflict", [owner_id], ["national_id"])]

    # The county, whose scope holds the record, is told it is already registered.
    county = await registry.client.post("/v1/children", json=_in(TOWNSHIP, number), headers=staff_headers(COUNTY))
    assert county.status_code == 409 and county.json()["errors"][0]["reason"] == api_duplicates.INSIDE

    # Editing another record of the prober's own township to that ID says the same as registering.
    own = await registry.client.post(
        "/v1/children", json=_in(OTHER_TOWNSHIP, national_id(date(2014, 2, 2), "female", sequence=904)),
        headers=staff_headers(OTHER_TOWNSHIP, subject="prober"))
    assert own.status_code == 201, own.text
    edit = await registry.client.patch(f"/v1/children/{own.json()['id']}", json={"national_id": number, "version": 1},
                                       headers=staff_headers(OTHER_TOWNSHIP, subject="prober"))
    assert edit.status_code == 409 and edit.json()["errors"][0]["reason"] == api_duplicates.OUTSIDE
    assert owner_id not in edit.text

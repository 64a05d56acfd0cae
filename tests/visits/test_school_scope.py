"""School scope in visits: `school_id` filters the duty work list, and a school_staff token
that carries a school sees that school's duties, contacts and concerns only; asking for
another school is refused (403)."""

from __future__ import annotations

import uuid

from tests.support.auth import TOWNSHIP, bearer
from tests.visits.harness import Harness, caregiver, county_staff, now


def school_staff(school_id: str | None) -> dict[str, str]:
    return bearer(roles=["school_staff"], jurisdiction=TOWNSHIP, subject="principal", school_id=school_id)


async def _duty_ids(harness: Harness, headers: dict[str, str], **params: str) -> set[str]:
    response = await harness.client.get("/v1/duties", params={"state": "all", "limit": 1000, **params},
                                        headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return {duty["id"] for duty in response.json()["items"]}


async def _school_duties(harness: Harness, school_id: str) -> set[str]:
    child_id = await harness.child(school_id=school_id)
    pairing_id, _ = await harness.pair(child_id)
    rows = await harness.fetch("SELECT id FROM duties WHERE pairing_id = $1 AND status = 'open'", pairing_id)
    assert rows
    return {str(row["id"]) for row in rows}


async def test_the_school_filter_and_the_school_staff_scope(harness: Harness) -> None:
    mine, theirs = f"school-{uuid.uuid4().hex[:8]}", f"school-{uuid.uuid4().hex[:8]}"
    my_duties, their_duties = await _school_duties(harness, mine), await _school_duties(harness, theirs)

    assert await _duty_ids(harness, county_staff(), school_id=mine) == my_duties
    everything = await _duty_ids(harness, county_staff())
    assert my_duties | their_duties <= everything

    principal = school_staff(mine)
    assert await _duty_ids(harness, principal) & (my_duties | their_duties) == my_duties
    assert await _duty_ids(harness, principal, school_id=mine) == my_duties
    # Asking for another school is a filter outside the caller's scope: refused, not empty.
    other = await harness.client.get("/v1/duties", params={"school_id": theirs}, headers=principal)
    assert other.status_code == 403 and other.json()["errors"][0]["field"] == "query.school_id"
    # Without a school in the token, school staff keep their township's view.
    assert my_duties | their_duties <= await _duty_ids(harness, school_staff(None))

    refused = await harness.client.get("/v1/duties", params={"school_id": ""}, headers=county_staff())
    assert refused.status_code == 422 and "school_id" in refused.text


async def test_a_school_head_reads_their_schools_contacts_and_concerns_only(harness: Harness) -> None:
    mine, theirs = f"school-{uuid.uuid4().hex[:8]}", f"school-{uuid.uuid4().hex[:8]}"
    logged = {}
    for school in (mine, theirs):
        child_id = await harness.child(school_id=school)
        _, caregiver_id = await harness.pair(child_id)
        response = await harness.client.post("/v1/contacts", headers=caregiver(caregiver_id), json={
            "child_id": str(child_id), "caregiver_id": str(caregiver_id), "kind": "talk",
            "occurred_at": now().isoformat(), "concerns": [{"category": "health", "severity": "low"}]})
        assert response.status_code == 201, response.text
        logged[school] = (child_id, response.json()["id"])
    head = school_staff(mine)

    listed = await harness.client.get("/v1/contacts", params={"limit": 500}, headers=head)
    ids = {contact["id"] for contact in listed.json()["items"]}
    assert logged[mine][1] in ids and logged[theirs][1] not in ids
    assert (await harness.client.get(f"/v1/children/{logged[mine][0]}/contacts", headers=head)).status_code == 200
    assert (await harness.client.get(f"/v1/children/{logged[theirs][0]}/contacts", headers=head)).status_code == 404
    assert (await harness.client.get(f"/v1/contacts/{logged[theirs][1]}", headers=head)).status_code == 404
    assert (await harness.client.get(f"/v1/contacts/{logged[mine][1]}", headers=head)).status_code == 200

    # The concerns raised by those contacts, likewise.
    concerns = {school: (await harness.fetch("SELECT id FROM concerns WHERE contact_id = $1",
                                             uuid.UUID(logged[school][1])))[0]["id"] for school in (mine, theirs)}
    listed = await harness.client.get("/v1/concerns", params={"limit": 500}, headers=head)
    seen = {concern["id"] for concern in listed.json()["items"]}
    assert str(concerns[mine]) in seen and str(concerns[theirs]) not in seen
    assert (await harness.client.get(f"/v1/concerns/{concerns[theirs]}", headers=head)).status_code == 404
    assert (await harness.client.get(f"/v1/concerns/{concerns[mine]}", headers=head)).status_code == 200

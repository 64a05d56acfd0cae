"""A school head's token (school_staff with a school) sees its own school's children,
queue and pairings only; records of another school answer 404 as if not there."""

from __future__ import annotations

from tests.pairing.harness import Place
from tests.support.auth import bearer


async def test_a_school_head_sees_their_schools_children_and_pairings_only(pairing) -> None:
    place = Place.fresh()
    ours, theirs = await pairing.child(place, school_id="s-ours"), await pairing.child(place, school_id="s-theirs")
    head = bearer(roles=["school_staff"], jurisdiction=place.township, subject="head", school_id="s-ours")

    assert (await pairing.client.get(f"/v1/children/{ours}", headers=head)).status_code == 200
    assert (await pairing.client.get(f"/v1/children/{theirs}", headers=head)).status_code == 404
    queue = await pairing.client.get("/v1/queue/unpaired", headers=head)
    assert [item["child_id"] for item in queue.json()["items"]] == [str(ours)] and queue.json()["total"] == 1
    elsewhere = await pairing.client.get("/v1/queue/unpaired", params={"school_id": "s-theirs"}, headers=head)
    assert elsewhere.status_code == 403 and elsewhere.json()["errors"][0]["field"] == "query.school_id"

    volunteer = await pairing.caregiver(place, kind="volunteer", capacity=3)
    refused = await pairing.client.post("/v1/pairings", headers=head,
                                        json={"child_id": str(theirs), "caregiver_id": volunteer["id"]})
    assert refused.status_code == 404
    mine = await pairing.client.post("/v1/pairings", headers=head,
                                     json={"child_id": str(ours), "caregiver_id": volunteer["id"]})
    assert mine.status_code == 201, mine.text
    other = await pairing.pair(theirs, volunteer["id"])
    assert other.status_code == 201, other.text

    assert (await pairing.client.get(f"/v1/pairings/{mine.json()['id']}", headers=head)).status_code == 200
    assert (await pairing.client.get(f"/v1/pairings/{other.json()['id']}", headers=head)).status_code == 404
    assert (await pairing.client.get(f"/v1/children/{theirs}/pairings", headers=head)).status_code == 404
    assert (await pairing.client.post(f"/v1/pairings/{other.json()['id']}/end", headers=head,
                                      json={"reason": "other"})).status_code == 404
    listed = await pairing.client.get(f"/v1/caregivers/{volunteer['id']}/pairings", headers=head)
    assert [p["child_id"] for p in listed.json()["items"]] == [str(ours)]
    # Without a school in the token, school staff keep their township's view.
    township_view = bearer(roles=["school_staff"], jurisdiction=place.township, subject="head")
    listed = await pairing.client.get(f"/v1/caregivers/{volunteer['id']}/pairings", headers=township_view)
    assert {p["child_id"] for p in listed.json()["items"]} == {str(ours), str(theirs)}

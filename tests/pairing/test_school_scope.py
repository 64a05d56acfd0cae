"""A school head's token (school_staff with a school) sees its own school's children,
queue and pairings only; records of another school answer 404 as if not there."""

from __future__ import annotations

from tests.pairing.harness import Place, staff
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


async def test_pairings_and_caregiver_activity_by_school_and_caregiver(pairing) -> None:
    place = Place.fresh()
    ours, theirs, also_ours = (await pairing.child(place, school_id="s-a"), await pairing.child(place, school_id="s-b"),
                               await pairing.child(place, school_id="s-a"))
    teacher_a = await pairing.caregiver(place, kind="teacher", school_id="s-a", capacity=5)
    teacher_b = await pairing.caregiver(place, kind="teacher", school_id="s-b", capacity=5)
    for child, teacher in ((ours, teacher_a), (theirs, teacher_b), (also_ours, teacher_a)):
        assert (await pairing.pair(child, teacher["id"])).status_code == 201

    def children_in(answer) -> list[str]:  # type: ignore[no-untyped-def]
        assert answer.status_code == 200, answer.text
        return sorted(item["child_id"] for item in answer.json()["items"])

    township = staff(place.township, roles=("township_staff",))
    assert children_in(await pairing.client.get("/v1/pairings", headers=township)) == sorted(
        map(str, (ours, theirs, also_ours)))
    by_school = await pairing.client.get("/v1/pairings", params={"school_id": "s-a"}, headers=township)
    assert children_in(by_school) == sorted(map(str, (ours, also_ours)))
    assert {item["child"]["school_id"] for item in by_school.json()["items"]} == {"s-a"}
    by_teacher = await pairing.client.get("/v1/pairings", params={"caregiver_id": teacher_b["id"]}, headers=township)
    assert children_in(by_teacher) == [str(theirs)]
    pages, cursor = [], None
    while True:  # one a page: the cursor walks the list once
        page = (await pairing.client.get("/v1/pairings", headers=township,
                                         params={"limit": 1, **({"cursor": cursor} if cursor else {})})).json()
        pages += [item["id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert len(pages) == 3 == len(set(pages))

    head = bearer(roles=["school_staff"], jurisdiction=place.township, subject="head-a", school_id="s-a")
    assert children_in(await pairing.client.get("/v1/pairings", headers=head)) == sorted(map(str, (ours, also_ours)))
    refused = await pairing.client.get("/v1/pairings", params={"school_id": "s-b"}, headers=head)
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "query.school_id"
    assert (await pairing.client.get("/v1/pairings", params={"jurisdiction": "330103000000"},
                                     headers=head)).status_code == 403

    period = {"from": "2020-01-01", "to": "2040-01-01"}
    activity = await pairing.client.get("/v1/statistics/caregiver-activity", params=period, headers=head)
    assert [row["caregiver_id"] for row in activity.json()["items"]] == [teacher_a["id"]]
    by_school = await pairing.client.get("/v1/statistics/caregiver-activity", headers=township,
                                         params={**period, "school_id": "s-b"})
    assert [row["caregiver_id"] for row in by_school.json()["items"]] == [teacher_b["id"]]
    assert (await pairing.client.get("/v1/statistics/caregiver-activity", headers=head,
                                     params={**period, "school_id": "s-b"})).status_code == 403

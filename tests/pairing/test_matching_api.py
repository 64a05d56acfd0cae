"""Matching through the API: a proposal for a township, accepted in part, with the
capacity checked again at acceptance."""

from __future__ import annotations

import uuid

from tests.pairing.harness import Place, staff


async def test_propose_then_accept_in_part_rechecking_capacity_and_child_status(pairing) -> None:
    place = Place.fresh()
    urgent = await pairing.child(place, priority=True, village=False)
    near = await pairing.child(place)  # lives in place.village
    school_child = await pairing.child(place, school_id="s-m", village=False)
    official = await pairing.caregiver(place, kind="village_official", capacity=1, village=True)
    teacher = await pairing.caregiver(place, kind="teacher", school_id="s-m", capacity=1)

    proposed = await pairing.client.post("/v1/matching/proposals", json={"jurisdiction": place.township},
                                         headers=staff(place.township))
    assert proposed.status_code == 201, proposed.text
    summary = proposed.json()
    assert proposed.headers["Location"] == f"/v1/matching/proposals/{summary['id']}"
    assert (summary["children_considered"], summary["proposed"], summary["left_unpaired"]) == (3, 2, 1)
    assert summary["priority_proposed"] == 1  # one village place: the priority child gets it
    proposal = (await pairing.client.get(f"/v1/matching/proposals/{summary['id']}", headers=staff())).json()
    items = {item["child_id"]: item for item in proposal["items"]}
    assert items[str(urgent)]["caregiver_id"] == official["id"]
    assert items[str(school_child)]["caregiver_id"] == teacher["id"] and items[str(school_child)]["match_level"] == "school"
    assert str(near) not in items
    assert proposal["items"][0]["priority"] is True
    one_by_one, cursor = [], None
    for _ in range(len(proposal["items"]) + 1):
        page = (await pairing.client.get(f"/v1/matching/proposals/{summary['id']}", headers=staff(),
                                         params={"limit": 1, **({"cursor": cursor} if cursor else {})})).json()
        one_by_one += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert one_by_one == proposal["items"] and proposal["next_cursor"] is None

    # Meanwhile the teacher's one place is taken by hand: accepting that item is refused.
    other = await pairing.child(place, school_id="s-m")
    assert (await pairing.pair(other, teacher["id"])).status_code == 201
    accepted = await pairing.client.post(f"/v1/matching/proposals/{summary['id']}/accept", headers=staff(),
                                         json={"child_ids": [str(urgent), str(school_child)]})
    assert accepted.status_code == 200, accepted.text
    result = {item["child_id"]: item for item in accepted.json()["items"]}
    assert result[str(urgent)]["outcome"] == "accepted"
    assert result[str(school_child)]["outcome"] == "refused" and result[str(school_child)]["reason"] == "over_capacity"
    assert result[str(school_child)]["load"] == 1
    assert await pairing.fetchval("SELECT count(*) FROM pairings WHERE child_id = $1 AND proposal_id IS NOT NULL",
                                  urgent) == 1
    # Accepting again: nothing doubles.
    again = await pairing.client.post(f"/v1/matching/proposals/{summary['id']}/accept", headers=staff(), json={})
    assert again.json()["accepted"] == 0 and again.json()["already_decided"] == 2
    # Out of scope: the proposal does not exist for another county's staff.
    assert (await pairing.client.get(f"/v1/matching/proposals/{summary['id']}",
                                     headers=staff("330103000000"))).status_code == 404


async def test_a_proposal_never_exceeds_capacity_and_balances_load(pairing) -> None:
    place = Place.fresh()
    children = [await pairing.child(place, village=False) for _ in range(7)]
    volunteers = [await pairing.caregiver(place, kind="volunteer") for _ in range(3)]  # 2 places each
    summary = (await pairing.client.post("/v1/matching/proposals", json={"jurisdiction": place.township},
                                         headers=staff())).json()
    assert summary["proposed"] == 6 and summary["left_unpaired"] == 1
    accepted = await pairing.client.post(f"/v1/matching/proposals/{summary['id']}/accept", headers=staff(), json={})
    assert accepted.json()["accepted"] == 6
    loads = (await pairing.client.get("/v1/caregivers", params={"jurisdiction": place.township},
                                      headers=staff())).json()["items"]
    assert sorted(c["load"] for c in loads) == [2, 2, 2]
    assert {v["id"] for v in volunteers} == {c["id"] for c in loads}
    assert len(children) == 7


async def test_a_retried_proposal_with_the_same_key_is_the_first_one(pairing) -> None:
    place = Place.fresh()
    await pairing.child(place, village=False)
    await pairing.caregiver(place, kind="volunteer")
    headers = {**staff(), "Idempotency-Key": str(uuid.uuid4())}
    first = await pairing.client.post("/v1/matching/proposals", json={"jurisdiction": place.township},
                                      headers=headers)
    second = await pairing.client.post("/v1/matching/proposals", json={"jurisdiction": place.township},
                                       headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert await pairing.fetchval("SELECT count(*) FROM proposals WHERE jurisdiction = $1", place.township) == 1

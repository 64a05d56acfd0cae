"""Pairings through the API, and the child projection's effects on them (registry events
delivered twice each through the consumer's real path)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.pairing import commands, domain
from shared.contracts import ChildReopened, ChildUpdated
from tests.pairing.harness import Place, caregiver_token, closed, staff, transferred
from tests.support.waiting import wait_for

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock


async def _queue(pairing, place: Place, **headers_kwargs) -> list[str]:
    response = await pairing.client.get("/v1/queue/unpaired", params={"jurisdiction": place.township},
                                        headers=staff(**headers_kwargs))
    assert response.status_code == 200, response.text
    return [item["child_id"] for item in response.json()["items"]]


async def test_child_registered_twice_is_in_the_unpaired_queue_once_priority_first(pairing) -> None:
    place = Place.fresh()
    ordinary = await pairing.child(place)
    urgent = await pairing.child(place, priority=True)
    assert await _queue(pairing, place) == [str(urgent), str(ordinary)]
    assert await pairing.fetchval("SELECT count(*) FROM children WHERE id = $1", ordinary) == 1
    projected = await pairing.client.get(f"/v1/children/{ordinary}", headers=staff())
    assert projected.status_code == 200 and projected.json()["record_version"] == 1


async def test_the_unpaired_queue_pages_in_its_order_with_the_total(pairing) -> None:
    place = Place.fresh()
    children = [await pairing.child(place, priority=index % 2 == 0) for index in range(5)]
    whole = await _queue(pairing, place)
    assert sorted(whole) == sorted(str(child) for child in children)
    paged, cursor = [], None
    for _ in range(6):
        page = (await pairing.client.get("/v1/queue/unpaired", headers=staff(), params={
            "jurisdiction": place.township, "limit": 2, **({"cursor": cursor} if cursor else {})})).json()
        assert page["total"] == 5
        paged += [item["child_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == whole
    outside = await pairing.client.get("/v1/queue/unpaired", params={"jurisdiction": "330103000000"},
                                       headers=staff(place.township))
    assert outside.status_code == 403 and outside.json()["errors"][0]["field"] == "query.jurisdiction"


async def test_pairing_takes_the_child_off_the_queue_and_emits_pairing_created(pairing) -> None:
    place = Place.fresh()
    child = await pairing.child(place, school_id="s-1")
    teacher = await pairing.caregiver(place, school_id="s-1")
    created = await pairing.pair(child, teacher["id"])
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "lead" and created.json()["active"] is True
    assert await _queue(pairing, place) == []
    events = [e for e in await pairing.outbox("PairingCreated") if e["pairing_id"] == created.json()["id"]]
    assert len(events) == 1 and events[0]["caregiver_id"] == teacher["id"]

    # Many-to-one: a helper beside the lead; a second lead or the same caregiver again: 409.
    helper = await pairing.caregiver(place, kind="caring_mother")
    assert (await pairing.pair(child, helper["id"], role="helper")).status_code == 201
    other = await pairing.caregiver(place, kind="volunteer")
    second_lead = await pairing.pair(child, other["id"])
    assert second_lead.status_code == 409 and second_lead.json()["code"] == "lead_exists"
    again = await pairing.pair(child, teacher["id"], role="helper")
    assert again.status_code == 409 and again.json()["code"] == "already_paired"

    history = (await pairing.client.get(f"/v1/children/{child}/pairings", headers=staff())).json()["items"]
    assert [h["role"] for h in history] == ["lead", "helper"]


async def test_over_capacity_is_409_with_the_load_and_writes_nothing(pairing) -> None:
    place = Place.fresh()
    buddy = await pairing.caregiver(place, kind="student_buddy")  # capacity 1 by default
    assert buddy["capacity"] == 1 and buddy["capacity_source"] == "default"
    first, second = await pairing.child(place), await pairing.child(place)
    assert (await pairing.pair(first, buddy["id"])).status_code == 201
    before_pairings = await pairing.fetchval("SELECT count(*) FROM pairings")
    before_outbox = await pairing.fetchval("SELECT count(*) FROM outbox")

    refused = await pairing.pair(second, buddy["id"])
    assert refused.status_code == 409
    detail = refused.json()
    assert detail["code"] == "over_capacity" and detail["load"] == 1 and detail["capacity"] == 1
    assert await pairing.fetchval("SELECT count(*) FROM pairings") == before_pairings
    assert await pairing.fetchval("SELECT count(*) FROM outbox") == before_outbox


async def test_two_concurrent_pairings_for_the_last_place_do_not_both_succeed(pairing) -> None:
    place = Place.fresh()
    mother = await pairing.caregiver(place, kind="caring_mother")  # capacity 2
    assert (await pairing.pair(await pairing.child(place), mother["id"])).status_code == 201
    children = [await pairing.child(place) for _ in range(6)]
    answers = await asyncio.gather(*(pairing.pair(child, mother["id"]) for child in children))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 5
    assert await pairing.fetchval(
        "SELECT count(*) FROM pairings WHERE caregiver_id = $1 AND ended_on IS NULL", uuid.UUID(mother["id"])) == 2


async def test_bad_pairings_are_refused_with_the_reason(pairing) -> None:
    place, elsewhere = Place.fresh(), Place.fresh()
    child = await pairing.child(place, school_id="s-9")
    teacher = await pairing.caregiver(place, school_id="s-9")
    before = await pairing.fetchval("SELECT count(*) FROM pairings")

    unknown_child = await pairing.pair(uuid.uuid4(), teacher["id"])
    assert unknown_child.status_code == 404 and unknown_child.json()["code"] == "child_not_found"
    unknown_caregiver = await pairing.pair(child, str(uuid.uuid4()))
    assert unknown_caregiver.status_code == 404
    other_school = await pairing.caregiver(place, school_id="s-10")
    outside = await pairing.pair(child, other_school["id"])
    assert outside.status_code == 422 and outside.json()["code"] == "outside_jurisdiction"
    far = await pairing.caregiver(elsewhere, kind="volunteer")
    assert (await pairing.pair(child, far["id"])).json()["code"] == "outside_jurisdiction"
    await pairing.deliver(closed(child, place, version=2))
    closed_child = await pairing.pair(child, teacher["id"])
    assert closed_child.status_code == 409 and closed_child.json()["code"] == "child_not_active"
    unknown_field = await pairing.client.post("/v1/pairings", headers=staff(), json={
        "child_id": str(child), "caregiver_id": teacher["id"], "note": "x"})
    assert unknown_field.status_code == 422 and unknown_field.json()["errors"][0]["field"] == "body.note"
    assert await pairing.fetchval("SELECT count(*) FROM pairings") == before


async def test_child_closed_twice_ends_its_pairings_once_with_pairing_ended(pairing) -> None:
    place = Place.fresh()
    child = await pairing.child(place)
    lead = await pairing.caregiver(place, kind="volunteer")
    helper = await pairing.caregiver(place, kind="party_member")
    await pairing.pair(child, lead["id"])
    await pairing.pair(child, helper["id"], role="helper")

    await pairing.deliver(closed(child, place, version=2))  # twice

    rows = await pairing.fetch("SELECT end_reason, ended_on FROM pairings WHERE child_id = $1", child)
    assert [r["end_reason"] for r in rows] == ["child_closed", "child_closed"]
    ended = [e for e in await pairing.outbox("PairingEnded") if e["child_id"] == str(child)]
    assert len(ended) == 2 and {e["reason"] for e in ended} == {"child_closed"}
    assert await _queue(pairing, place) == []  # closed children are not waiting for anyone

    # Reopened: waiting again; the old pairings stay in the history.
    await pairing.deliver(ChildReopened(child_id=child, jurisdiction=place.jurisdiction(), record_version=3))
    assert await _queue(pairing, place) == [str(child)]
    history = (await pairing.client.get(f"/v1/children/{child}/pairings", headers=staff())).json()["items"]
    assert len(history) == 2 and not any(h["active"] for h in history)


async def test_stale_versions_do_not_apply(pairing) -> None:
    place, other = Place.fresh(), Place.fresh()
    child = await pairing.child(place)
    volunteer = await pairing.caregiver(place, kind="volunteer")
    await pairing.pair(child, volunteer["id"])
    await pairing.deliver(ChildUpdated(child_id=child, jurisdiction=place.jurisdiction(), priority=True,
                                       record_version=5))
    # Older facts arriving late (another event id): ignored, and no pairing is ended.
    await pairing.deliver(closed(child, place, version=4))
    await pairing.deliver(transferred(child, place, other, version=3))
    # The same version again under another event id (a producer retry): no change either.
    await pairing.deliver(ChildUpdated(child_id=child, jurisdiction=place.jurisdiction(), priority=False,
                                       record_version=5))
    row = (await pairing.fetch("SELECT status, priority, township_code, record_version FROM children WHERE id = $1",
                               child))[0]
    assert (row["status"], row["priority"], row["township_code"], row["record_version"]) == (
        "active", True, place.township, 5)
    assert await pairing.fetchval(
        "SELECT count(*) FROM pairings WHERE child_id = $1 AND ended_on IS NULL", child) == 1


async def test_transfer_to_another_township_ends_pairings_and_queues_the_child_there(pairing) -> None:
    old, new = Place.fresh(), Place.fresh()
    child = await pairing.child(old, school_id="s-old")
    local = await pairing.caregiver(old, kind="village_official")
    await pairing.pair(child, local["id"])

    await pairing.deliver(transferred(child, old, new, version=2, school_id="s-new", from_school_id="s-old"))

    rows = await pairing.fetch("SELECT end_reason FROM pairings WHERE child_id = $1", child)
    assert [r["end_reason"] for r in rows] == ["child_transferred"]
    ended = [e for e in await pairing.outbox("PairingEnded") if e["child_id"] == str(child)]
    assert len(ended) == 1 and ended[0]["reason"] == "child_transferred"
    assert await _queue(pairing, new) == [str(child)]
    assert await _queue(pairing, old) == []


async def test_a_school_caregiver_keeps_a_child_who_moves_township_within_the_school(pairing) -> None:
    old, new = Place.fresh(), Place.fresh()
    child = await pairing.child(old, school_id="s-shared")
    teacher = await pairing.caregiver(old, school_id="s-shared")
    await pairing.pair(child, teacher["id"])
    await pairing.deliver(transferred(child, old, new, version=2, school_id="s-shared", from_school_id="s-shared"))
    assert await pairing.fetchval(
        "SELECT count(*) FROM pairings WHERE child_id = $1 AND ended_on IS NULL", child) == 1
    # Then to another school: the teacher no longer covers the child.
    await pairing.deliver(transferred(child, new, new, version=3, school_id="s-other", from_school_id="s-shared"))
    assert await pairing.fetchval("SELECT end_reason FROM pairings WHERE child_id = $1", child) == "child_transferred"


async def test_ending_by_hand_and_a_caregiver_sees_only_their_own(pairing) -> None:
    place = Place.fresh()
    first, second = await pairing.child(place), await pairing.child(place)
    mine = await pairing.caregiver(place, kind="volunteer")
    theirs = await pairing.caregiver(place, kind="volunteer")
    paired = (await pairing.pair(first, mine["id"])).json()
    other = (await pairing.pair(second, theirs["id"])).json()

    own = await pairing.client.get("/v1/me/pairings", headers=caregiver_token(mine["id"], place.township))
    assert [p["id"] for p in own.json()["items"]] == [paired["id"]]
    assert "priority" not in own.json()["items"][0]["child"]
    assert (await pairing.client.get(f"/v1/pairings/{other['id']}",
                                     headers=caregiver_token(mine["id"]))).status_code == 404
    assert (await pairing.client.get(f"/v1/children/{first}", headers=caregiver_token(mine["id"]))).status_code == 403
    assert (await pairing.client.get(f"/v1/pairings/{paired['id']}",
                                     headers=staff("330103000000"))).status_code == 404

    ended = await pairing.client.post(f"/v1/pairings/{paired['id']}/end", json={"reason": "reassigned"},
                                      headers=staff())
    assert ended.status_code == 200 and ended.json()["end_reason"] == "reassigned"
    again = await pairing.client.post(f"/v1/pairings/{paired['id']}/end", json={"reason": "reassigned"},
                                      headers=staff())
    assert again.status_code == 409
    assert await _queue(pairing, place) == [str(first)]


async def test_idempotency_key_gives_the_first_answer(pairing) -> None:
    place = Place.fresh()
    child = await pairing.child(place)
    volunteer = await pairing.caregiver(place, kind="volunteer")
    headers = {**staff(), "Idempotency-Key": str(uuid.uuid4())}
    body = {"child_id": str(child), "caregiver_id": volunteer["id"]}
    first = await pairing.client.post("/v1/pairings", json=body, headers=headers)
    second = await pairing.client.post("/v1/pairings", json=body, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    assert await pairing.fetchval("SELECT count(*) FROM pairings WHERE child_id = $1", child) == 1


async def test_coverage_by_township_and_school_priority_separately(pairing) -> None:
    place = Place.fresh()
    paired_child = await pairing.child(place, school_id="s-cov", priority=True)
    await pairing.child(place, school_id="s-cov", priority=True)
    await pairing.child(place, school_id="s-cov")
    await pairing.child(place)
    teacher = await pairing.caregiver(place, school_id="s-cov")
    await pairing.pair(paired_child, teacher["id"])

    body = (await pairing.client.get("/v1/statistics/coverage", params={"jurisdiction": place.township},
                                     headers=staff())).json()
    assert body["total"]["active_children"] == 4 and body["total"]["paired"] == 1
    assert body["total"]["coverage"] == 0.25 and body["total"]["priority_coverage"] == 0.5
    assert body["by_township"] == [{"township_code": place.township, **body["total"]}]
    school = next(s for s in body["by_school"] if s["school_id"] == "s-cov")
    assert (school["active_children"], school["paired"]) == (3, 1)


async def test_the_caregiver_row_lock_makes_a_racing_pairing_wait_then_refuses_it(pairing) -> None:
    """Deterministic form of the race: A pairs the last place and has not committed; B
    must wait for A (not count the old load), then be refused."""
    place = Place.fresh()
    buddy = await pairing.caregiver(place, kind="student_buddy")
    caregiver_id = uuid.UUID(buddy["id"])
    first, second = await pairing.child(place), await pairing.child(place)
    async with pairing.pool.acquire() as a, pairing.pool.acquire() as b:
        b_pid = await b.fetchval("SELECT pg_backend_pid()")
        transaction_a = a.transaction()
        await transaction_a.start()
        await commands.create_pairing(a, child_id=first, caregiver_id=caregiver_id, role="lead",
                                      started_on=pairing.settings.clock.today(), created_by="a")

        async def b_pairs() -> None:
            async with b.transaction():
                await commands.create_pairing(b, child_id=second, caregiver_id=caregiver_id, role="lead",
                                              started_on=pairing.settings.clock.today(), created_by="b")

        racing = asyncio.create_task(b_pairs())

        async def b_waits_for_a_lock() -> bool:
            return bool(await pairing.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", b_pid)) or racing.done()

        await wait_for(b_waits_for_a_lock, timeout=10, what="B blocked on the caregiver row")
        assert not racing.done(), "B did not wait for A's uncommitted pairing"
        await transaction_a.commit()
        with pytest.raises(domain.Refusal) as refused:
            await racing
        assert refused.value.reason == "over_capacity"

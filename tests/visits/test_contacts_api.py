"""Logging contacts through the API: who may, bad input (nothing written), offline
resends, Idempotency-Key, encryption at rest, events and jurisdiction scoping."""

from __future__ import annotations

import uuid
from urllib.parse import quote
from datetime import timedelta
from typing import Any

import pytest

from shared.purpose import RELATION_PURPOSES

from tests.support.auth import OTHER_COUNTY, bearer
from tests.visits.harness import (
    ELSEWHERE, Harness, caregiver, county_staff, earlier_today, now, today, township_staff,
)

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock

SECRET_NOTE = "奶奶说孩子晚上常哭"  # free text: must never appear in clear outside the API


def contact(child_id: uuid.UUID, caregiver_id: uuid.UUID, **overrides: Any) -> dict:
    body = {"child_id": str(child_id), "caregiver_id": str(caregiver_id), "kind": "home_visit",
            "occurred_at": earlier_today(3).isoformat()}
    body.update(overrides)
    return body


async def _counts(harness: Harness) -> tuple:
    return (await harness.fetchval("SELECT count(*) FROM contacts"),
            await harness.fetchval("SELECT count(*) FROM outbox"),
            await harness.fetchval("SELECT count(*) FROM concerns"))


async def test_a_paired_caregiver_logs_a_full_contact(harness: Harness) -> None:
    child_id = await harness.child()
    pairing_id, me = await harness.pair(child_id)
    body = contact(child_id, me, kind="parent_video", place="home", location={"latitude": 30.2, "longitude": 120.1},
                   ratings={"study": 4, "daily_life": 3, "emotions": 2, "safety": 5, "health": 4},
                   notes=SECRET_NOTE, call={"initiated_by": "caregiver", "duration_minutes": 25},
                   follow_ups=[{"action": "和班主任沟通", "due_on": str(today(harness.settings) + timedelta(days=7))}],
                   other_caregiver_ids=[str(uuid.uuid4())])
    response = await harness.client.post("/v1/contacts", json=body, headers=caregiver(me))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["ratings"]["emotions"] == 2 and created["call"]["duration_minutes"] == 25
    assert "notes" not in created and SECRET_NOTE not in response.text

    stored = (await harness.fetch("SELECT * FROM contacts WHERE id = $1", uuid.UUID(created["id"])))[0]
    assert stored["notes_enc"].startswith("v1.") and SECRET_NOTE not in str(dict(stored))
    assert "30.2" not in (stored["location_enc"] or "")

    [visit] = await harness.events("VisitLogged", contact_id=uuid.UUID(created["id"]))
    assert visit.kind == "parent_video" and visit.caregiver_id == me and visit.concern_raised is False
    raw = await harness.fetchval("SELECT payload::text FROM outbox WHERE event_type = 'cn.shouhu.VisitLogged.v1'"
                                 " AND payload->>'contact_id' = $1", created["id"])
    assert SECRET_NOTE not in raw and "ratings" not in raw

    # The call with the parents this month fulfils this month's parent_call duty, if one is owed.
    owed = await harness.fetch("SELECT status, fulfilled_by FROM duties WHERE pairing_id = $1 AND duty_kind ="
                               " 'parent_call' AND period_start <= $2 AND due_on >= $2", pairing_id,
                               today(harness.settings))
    assert all(row["status"] == "fulfilled" for row in owed)

    detail = await harness.client.get(f"/v1/contacts/{created['id']}", headers=caregiver(me))
    assert detail.json()["notes"] == SECRET_NOTE and detail.json()["location"]["latitude"] == 30.2
    plain_staff = await harness.client.get(f"/v1/contacts/{created['id']}", headers=county_staff())
    assert plain_staff.status_code == 200 and plain_staff.json()["notes"] is None
    no_purpose = await harness.client.get(f"/v1/contacts/{created['id']}", headers=county_staff(sensitive=True))
    assert no_purpose.json()["notes"] is None and no_purpose.json()["location"] is None
    sensitive = await harness.client.get(f"/v1/contacts/{created['id']}",
                                         headers={**county_staff(sensitive=True), "X-Purpose": "case review"})
    assert sensitive.json()["notes"] == SECRET_NOTE and sensitive.json()["follow_ups"][0]["action"] == "和班主任沟通"
    audited = await harness.fetch("SELECT purpose, fields FROM read_audit WHERE $1 = ANY(record_ids) ORDER BY id",
                                  uuid.UUID(created["id"]))
    assert [row["purpose"] for row in audited] == [RELATION_PURPOSES["author"], "case review"]
    assert set(audited[1]["fields"]) == {"notes", "location", "follow_ups"}


async def test_bad_input_is_refused_with_the_reason_and_nothing_written(harness: Harness) -> None:
    child_id = await harness.child()
    _, me = await harness.pair(child_id)
    closed_child = await harness.child(status="closed")
    await harness.pair(closed_child, me)
    stranger = uuid.uuid4()
    before = await _counts(harness)
    cases = [
        (contact(uuid.uuid4(), me), caregiver(me), 404, None),
        (contact(child_id, stranger), caregiver(stranger), 403, "body.child_id"),
        (contact(child_id, me), caregiver(stranger), 403, None),
        (contact(closed_child, me), caregiver(me), 409, "body.child_id"),
        (contact(child_id, me, occurred_at=(now() + timedelta(hours=1)).isoformat()), caregiver(me), 422,
         "body.occurred_at"),
        (contact(child_id, me, mood="sad"), caregiver(me), 422, "body.mood"),
        (contact(child_id, me, ratings={"study": 6}), caregiver(me), 422, "body.ratings.study"),
        (contact(child_id, me, location={"latitude": 91, "longitude": 0}), caregiver(me), 422,
         "body.location.latitude"),
        (contact(child_id, me, call={"initiated_by": "parent", "duration_minutes": 3}), caregiver(me), 422,
         "body.call"),
        (contact(child_id, me, concerns=[{"category": "gossip", "severity": "low"}]), caregiver(me), 422,
         "body.concerns.0.category"),
        (contact(child_id, me, occurred_at="2026-11-01T10:00:00"), caregiver(me), 422, "body.occurred_at"),
    ]
    for body, headers, expected, field in cases:
        response = await harness.client.post("/v1/contacts", json=body, headers=headers)
        assert response.status_code == expected, (body, response.text)
        if field:
            assert response.json()["errors"][0]["field"] == field, response.text
    assert await _counts(harness) == before


async def test_staff_log_without_a_pairing_but_only_in_their_jurisdiction(harness: Harness) -> None:
    child_id = await harness.child()
    body = contact(child_id, uuid.uuid4(), kind="health_check")
    assert (await harness.client.post("/v1/contacts", json=body, headers=county_staff())).status_code == 201
    elsewhere = await harness.client.post("/v1/contacts", json=contact(child_id, uuid.uuid4()),
                                          headers=county_staff(jurisdiction=OTHER_COUNTY))
    assert elsewhere.status_code == 404


async def test_an_offline_resend_of_the_same_id_is_a_no_op(harness: Harness) -> None:
    child_id = await harness.child()
    _, me = await harness.pair(child_id, started_on=today(harness.settings) - timedelta(days=3))
    offline_id = str(uuid.uuid4())
    body = contact(child_id, me, id=offline_id, kind="talk", occurred_at=(now() - timedelta(hours=9)).isoformat())
    first = await harness.client.post("/v1/contacts", json=body, headers=caregiver(me))
    before = await _counts(harness)
    again = await harness.client.post("/v1/contacts", json=body, headers=caregiver(me))
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == offline_id
    assert await _counts(harness) == before
    hijack = await harness.client.post("/v1/contacts", json=contact(await harness.child(), me, id=offline_id),
                                       headers=county_staff())
    assert hijack.status_code == 409


async def test_idempotency_key_answers_the_first_response(harness: Harness) -> None:
    child_id = await harness.child()
    _, me = await harness.pair(child_id)
    headers = {**caregiver(me), "Idempotency-Key": str(uuid.uuid4())}
    body = contact(child_id, me, kind="letter")
    first = await harness.client.post("/v1/contacts", json=body, headers=headers)
    before = await _counts(harness)
    second = await harness.client.post("/v1/contacts", json=body, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    assert await _counts(harness) == before
    other = await harness.client.post("/v1/contacts", json={**body, "kind": "talk"}, headers=headers)
    assert other.status_code == 422


async def test_a_concern_is_committed_with_its_contact_and_escalation_starts(harness: Harness) -> None:
    child_id = await harness.child()
    _, me = await harness.pair(child_id)
    body = contact(child_id, me, concerns=[{"category": "suspected_abuse", "severity": "urgent",
                                            "detail": "手臂上有淤青"},
                                           {"category": "health", "severity": "low"}])
    response = await harness.client.post("/v1/contacts", json=body, headers=caregiver(me))
    assert response.status_code == 201
    contact_id = uuid.UUID(response.json()["id"])
    [visit] = await harness.events("VisitLogged", contact_id=contact_id)
    raised = await harness.events("ConcernRaised", contact_id=contact_id)
    assert visit.concern_raised and sorted(e.mandatory_report for e in raised) == [False, True]
    raw = await harness.fetch("SELECT payload::text AS p FROM outbox WHERE event_type LIKE '%Concern%'")
    assert not any("suspected_abuse" in row["p"] or "淤青" in row["p"] for row in raw)

    mandatory = next(e for e in raised if e.mandatory_report)
    listed = await harness.client.get("/v1/concerns", headers=township_staff())
    assert listed.json()["items"][0]["id"] == str(mandatory.concern_id) and listed.json()["items"][0]["category"] is None
    concern_url = f"/v1/concerns/{mandatory.concern_id}"
    unstated = await harness.client.get(concern_url, headers=township_staff(sensitive=True))
    assert unstated.json()["category"] is None and unstated.json()["detail"] is None  # no purpose stated
    seen = await harness.client.get(concern_url, headers={**township_staff(sensitive=True), "X-Purpose": quote("核实")})
    assert seen.json()["category"] == "suspected_abuse" and seen.json()["detail"] == "手臂上有淤青"
    audited = await harness.fetch("SELECT subject, roles, fields, purpose, request_id FROM read_audit"
                                  " WHERE record_kind = 'concern' AND $1 = ANY(record_ids)", mandatory.concern_id)
    assert [(row["subject"], row["roles"], row["fields"], row["purpose"]) for row in audited] == [
        ("township-officer", ["township_staff"], ["category", "detail"], "核实")]
    assert audited[0]["request_id"] == seen.headers["x-request-id"]

    url = f"/v1/concerns/{mandatory.concern_id}/acknowledgement"
    unreferred = await harness.client.post(url, json={}, headers=township_staff())
    assert unreferred.status_code == 422 and unreferred.json()["errors"][0]["field"] == "body.referred_to"
    stale = await harness.client.post(url, json={"referred_to": ["police"]}, headers={**township_staff(),
                                                                                      "If-Match": '"7"'})
    assert stale.status_code == 412
    by_caregiver = await harness.client.post(url, json={"referred_to": ["police"]}, headers=caregiver(me))
    assert by_caregiver.status_code == 403
    done = await harness.client.post(url, json={"referred_to": ["police", "civil_affairs"], "note": "已报警"},
                                     headers={**township_staff(), "If-Match": '"1"'})
    assert done.status_code == 200, done.text
    assert done.headers["ETag"] == f'"{done.json()["version"]}"'
    assert done.json()["acknowledged_by"] == "township-officer" and done.json()["referred_to"] == [
        "civil_affairs", "police"]
    [ack] = await harness.events("ConcernAcknowledged", concern_id=mandatory.concern_id)
    assert ack.referred is True
    again = await harness.client.post(url, json={"referred_to": ["police"]}, headers=township_staff())
    assert again.status_code == 409


async def test_lists_are_scoped_by_jurisdiction_and_pairing(harness: Harness) -> None:
    here_child = await harness.child()
    there_child = await harness.child(jurisdiction=ELSEWHERE)
    _, me = await harness.pair(here_child)
    logged = await harness.client.post("/v1/contacts", json=contact(here_child, me), headers=caregiver(me))
    there = await harness.client.post("/v1/contacts", json=contact(there_child, uuid.uuid4()),
                                      headers=county_staff())
    assert logged.status_code == there.status_code == 201
    mine = (await harness.client.get("/v1/contacts", headers=caregiver(me))).json()["items"]
    assert {c["id"] for c in mine} == {logged.json()["id"]}
    township = (await harness.client.get("/v1/contacts", params={"limit": 500}, headers=township_staff())).json()[
        "items"]
    assert logged.json()["id"] in {c["id"] for c in township} and there.json()["id"] not in {
        c["id"] for c in township}
    assert (await harness.client.get(f"/v1/contacts/{there.json()['id']}", headers=township_staff())).status_code \
        == 404
    assert (await harness.client.get(f"/v1/contacts/{there.json()['id']}", headers=caregiver(me))).status_code == 404
    other_county = await harness.client.get(f"/v1/children/{here_child}/contacts",
                                            headers=county_staff(jurisdiction=OTHER_COUNTY))
    assert other_county.status_code == 404
    by_child = await harness.client.get("/v1/contacts", params={"child_id": str(here_child)},
                                        headers=county_staff())
    assert [c["id"] for c in by_child.json()["items"]] == [logged.json()["id"]]
    period = await harness.client.get("/v1/contacts", params={"from": (now() + timedelta(hours=1)).isoformat()},
                                      headers=county_staff())
    assert period.json() == {"items": [], "next_cursor": None, "total": None}
    guardian = bearer(roles=["service"], jurisdiction="330102000000")
    assert (await harness.client.get("/v1/contacts", headers=guardian)).status_code == 403


async def _every_page(harness: Harness, path: str, headers: dict[str, str], **params: Any) -> list[dict]:
    items: list[dict] = []
    cursor = None
    for _ in range(50):
        answer = await harness.client.get(path, params={**params, **({"cursor": cursor} if cursor else {})},
                                          headers=headers)
        assert answer.status_code == 200, answer.text
        items += answer.json()["items"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("next_cursor never ran out")


async def test_contact_and_concern_lists_page_to_the_end_without_repeats(harness: Harness) -> None:
    child_id = await harness.child()
    # paired since yesterday: the contacts below lie up to four hours back, whatever the hour
    _, me = await harness.pair(child_id, started_on=today(harness.settings) - timedelta(days=1))
    same_moment = (now() - timedelta(hours=2)).isoformat()
    severities = ["urgent", "low", "high", "low", "medium", "low", "low"]
    for index, severity in enumerate(severities):
        occurred = same_moment if index < 3 else (now() - timedelta(hours=4, minutes=index)).isoformat()
        category = "suspected_abuse" if index in (1, 4) else "health"
        response = await harness.client.post("/v1/contacts", headers=caregiver(me), json=contact(
            child_id, me, occurred_at=occurred, concerns=[{"category": category, "severity": severity}]))
        assert response.status_code == 201, response.text

    whole = await harness.client.get("/v1/contacts", params={"child_id": str(child_id), "limit": 500},
                                     headers=county_staff())
    paged = await _every_page(harness, "/v1/contacts", county_staff(), child_id=str(child_id), limit=2)
    assert [c["id"] for c in paged] == [c["id"] for c in whole.json()["items"]] and len(paged) == len(severities)
    by_child = await _every_page(harness, f"/v1/children/{child_id}/contacts", caregiver(me), limit=3)
    assert [c["id"] for c in by_child] == [c["id"] for c in paged]

    whole = await harness.client.get("/v1/concerns", params={"child_id": str(child_id), "limit": 500},
                                     headers=county_staff())
    concerns = await _every_page(harness, "/v1/concerns", county_staff(), child_id=str(child_id), limit=1)
    assert [c["id"] for c in concerns] == [c["id"] for c in whole.json()["items"]]
    assert len(concerns) == len(severities) and concerns[0]["mandatory_report"]

    forged = await harness.client.get("/v1/contacts", params={"cursor": "bm90LW91cnM"}, headers=county_staff())
    assert forged.status_code == 422 and forged.json()["errors"][0]["field"] == "query.cursor"

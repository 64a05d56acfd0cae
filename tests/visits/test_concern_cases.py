"""A mandatory report followed to closure through the API: acknowledged, referred to the
county's agencies, accepted with the agency's case number, dated follow-up notes, closed
with an outcome; deadlines missed climb the ladder once per rung; the events carry states
and deadlines only; the nature, notes and outcome stay behind view_sensitive."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from datetime import timedelta

import pytest
from pypdf import PdfReader

from shared.contracts.events import VISITS_TOPIC
from shared.outbox import OutboxRelay
from shared.topics import ensure_topics
from tests.pairing.test_worker_kafka import stop
from tests.support.auth import OTHER_COUNTY, bearer
from tests.visits.harness import (
    Harness, admin, caregiver, county_staff, earlier_today, now, open_harness, today, township_staff,
)
from tests.visits.test_worker import _read_topic

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock

DETAIL = "手臂上有淤青"
NOTE = "派出所民警已上门核实，孩子暂住姑姑家"


async def _raise(harness: Harness, category: str = "suspected_abuse", severity: str = "high") -> uuid.UUID:
    child_id = await harness.child()
    _, me = await harness.pair(child_id)
    response = await harness.client.post("/v1/contacts", headers=caregiver(me), json={
        "child_id": str(child_id), "caregiver_id": str(me), "kind": "home_visit",
        "occurred_at": earlier_today(1).isoformat(),
        "concerns": [{"category": category, "severity": severity, "detail": DETAIL}]})
    assert response.status_code == 201, response.text
    [raised] = await harness.events("ConcernRaised", contact_id=uuid.UUID(response.json()["id"]))
    return raised.concern_id


async def _state(harness: Harness, concern_id: uuid.UUID) -> tuple:
    row = (await harness.fetch("SELECT status, version FROM concerns WHERE id = $1", concern_id))[0]
    return row["status"], row["version"]


async def test_a_mandatory_report_is_followed_to_closure(harness: Harness) -> None:
    concern_id = await _raise(harness)
    base = f"/v1/concerns/{concern_id}"
    staff = township_staff()

    # Nothing but acknowledgement comes first, and nothing changes on a refusal.
    early = await harness.client.post(f"{base}/referrals", json={"agencies": ["police"]}, headers=staff)
    assert early.status_code == 409 and await _state(harness, concern_id) == ("open", 1)
    ack = await harness.client.post(f"{base}/acknowledgement", json={"referred_to": ["police", "womens_federation"]},
                                    headers=staff)
    assert ack.status_code == 200, ack.text
    acked = ack.json()
    assert acked["status"] == "acknowledged" and acked["state_deadline"] is not None
    assert [h["state"] for h in acked["history"]] == ["acknowledged"]

    closing_unreferred = await harness.client.post(f"{base}/closure", json={"outcome": "resolved"}, headers=staff)
    assert closing_unreferred.status_code == 409  # a mandatory report is reported before it is closed
    unknown = await harness.client.post(f"{base}/referrals", json={"agencies": ["fire_brigade"]}, headers=staff)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.agencies"
    extra = await harness.client.post(f"{base}/referrals", json={"agencies": ["police"], "x": 1}, headers=staff)
    assert extra.status_code == 422
    by_school = await harness.client.post(f"{base}/referrals", json={"agencies": ["police"]},
                                          headers=bearer(roles=["school_staff"], jurisdiction="330102001000"))
    assert by_school.status_code == 403
    assert await _state(harness, concern_id) == ("acknowledged", acked["version"])

    referred = await harness.client.post(f"{base}/referrals", json={"agencies": ["police", "womens_federation"]},
                                         headers={**staff, "If-Match": f'"{acked["version"]}"'})
    assert referred.status_code == 200, referred.text
    body = referred.json()
    assert body["status"] == "referred" and referred.headers["ETag"] == f'"{body["version"]}"'
    assert {r["agency"]: r["agency_name"] for r in body["referrals"]} == {"police": "公安机关",
                                                                           "womens_federation": "妇联"}
    twice = await harness.client.post(f"{base}/referrals", json={"agencies": ["police"]}, headers=staff)
    assert twice.status_code == 409

    not_referred = await harness.client.post(f"{base}/acceptance", json={"agency": "hospital", "case_number": "1"},
                                             headers=staff)
    assert not_referred.status_code == 422 and not_referred.json()["errors"][0]["field"] == "body.agency"
    future = await harness.client.post(f"{base}/acceptance", headers=staff, json={
        "agency": "police", "case_number": "A1", "accepted_at": (now() + timedelta(days=2)).isoformat()})
    assert future.status_code == 422
    accepted = await harness.client.post(f"{base}/acceptance", headers=staff,
                                         json={"agency": "police", "case_number": "关公(城)受案字〔2026〕0153号"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    police = next(r for r in accepted.json()["referrals"] if r["agency"] == "police")
    assert police["case_number"] == "关公(城)受案字〔2026〕0153号" and police["accepted_at"]
    second = await harness.client.post(f"{base}/acceptance", headers=staff,
                                       json={"agency": "womens_federation", "case_number": "FL-7"})
    assert second.status_code == 200 and second.json()["status"] == "accepted"  # the state stays

    day = today(harness.settings)
    bad_date = await harness.client.post(f"{base}/notes", json={"noted_on": str(day + timedelta(days=1)),
                                                                "note": NOTE}, headers=staff)
    assert bad_date.status_code == 422 and bad_date.json()["errors"][0]["field"] == "body.noted_on"
    for offset in (0, 0, 0):
        noted = await harness.client.post(f"{base}/notes", json={"noted_on": str(day - timedelta(days=offset)),
                                                                 "note": NOTE}, headers=staff)
        assert noted.status_code == 201, noted.text
        assert NOTE not in noted.text
    assert (await _state(harness, concern_id))[0] == "following_up"
    stored = await harness.fetch("SELECT note_enc FROM concern_notes")
    assert stored and all(NOTE not in row["note_enc"] for row in stored)

    plain = await harness.client.get(f"{base}/notes", params={"limit": 2}, headers=staff)
    assert plain.status_code == 200 and plain.json()["total"] == 3 and len(plain.json()["items"]) == 2
    assert all(item["note"] is None for item in plain.json()["items"])
    rest = await harness.client.get(f"{base}/notes", params={"limit": 2, "cursor": plain.json()["next_cursor"]},
                                    headers=staff)
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
    assert {i["id"] for i in plain.json()["items"]}.isdisjoint({i["id"] for i in rest.json()["items"]})
    reads_before = await harness.fetchval("SELECT count(*) FROM read_audit WHERE $1 = ANY(record_ids)", concern_id)
    seen = await harness.client.get(f"{base}/notes", headers={**township_staff(sensitive=True), "X-Purpose": "review"})
    assert [item["note"] for item in seen.json()["items"]] == [NOTE] * 3
    assert await harness.fetchval("SELECT count(*) FROM read_audit WHERE $1 = ANY(record_ids)",
                                  concern_id) == reads_before + 1
    bad_cursor = await harness.client.get(f"{base}/notes", params={"cursor": "nonsense"}, headers=staff)
    assert bad_cursor.status_code == 422

    other_needs_note = await harness.client.post(f"{base}/closure", json={"outcome": "other"}, headers=staff)
    assert other_needs_note.status_code == 422 and other_needs_note.json()["errors"][0]["field"] == "body.note"
    closed = await harness.client.post(f"{base}/closure", json={"outcome": "protected", "note": "已变更临时照护"},
                                       headers=staff)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["state_deadline"] is None
    assert closed.json()["outcome"] is None  # the outcome is as private as the nature
    full = (await harness.client.get(base, headers={**township_staff(sensitive=True), "X-Purpose": "review"})).json()
    assert full["outcome"] == "protected" and full["closing_note"] == "已变更临时照护" and full["detail"] == DETAIL
    assert [h["state"] for h in full["history"]] == ["acknowledged", "referred", "accepted", "following_up",
                                                     "closed"]
    late_note = await harness.client.post(f"{base}/notes", json={"noted_on": str(day), "note": NOTE}, headers=staff)
    assert late_note.status_code == 409

    form_url = f"{base}/report-form.pdf"
    assert (await harness.client.get(form_url, headers=staff)).status_code == 403  # it holds the nature
    assert (await harness.client.get(form_url, headers=township_staff(sensitive=True))).status_code == 403  # no purpose
    form = await harness.client.get(form_url, headers={**township_staff(sensitive=True), "X-Purpose": "referral"})
    assert form.status_code == 200 and form.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(form.content)).pages)
    for expected in ("强制报告登记表", "疑似遭受虐待", DETAIL, "公安机关", "关公(城)受案字〔2026〕0153号", "妇联",
                     NOTE, "已采取保护措施", "家访"):
        assert expected in re.sub(r"\s", "", text), expected
    assert await harness.fetchval("SELECT count(*) FROM read_audit WHERE action = 'print_report_form'"
                                  " AND $1 = ANY(record_ids)", concern_id) == 1

    changes = await harness.events("ConcernStateChanged", concern_id=concern_id)
    # following_up is entered once and its deadline moved by each later note.
    assert [e.state for e in changes] == ["acknowledged", "referred", "accepted", "following_up", "following_up",
                                          "following_up", "closed"]
    assert all(e.mandatory_report for e in changes) and changes[-1].deadline is None
    assert all(e.deadline is not None for e in changes[:-1])
    raw = await harness.fetch("SELECT payload::text AS p FROM outbox WHERE event_type LIKE '%Concern%'")
    for secret in (DETAIL, NOTE, "suspected_abuse", "0153", "protected", "police", "已变更"):
        assert not any(secret in row["p"] for row in raw), secret


async def test_missed_deadlines_climb_the_ladder_once_and_start_again_after_a_step(harness: Harness) -> None:
    concern_id = await _raise(harness, category="neglect", severity="medium")
    base = f"/v1/concerns/{concern_id}"
    ack = await harness.client.post(f"{base}/acknowledgement", json={"referred_to": ["civil_affairs"]},
                                    headers=township_staff())
    assert ack.status_code == 200
    day = today(harness.settings)
    # A mandatory report has a day to be referred: missed by tomorrow's end, township first.
    await harness.scan(day + timedelta(days=1))
    await harness.scan(day + timedelta(days=1))
    missed = await harness.events("ConcernDeadlineMissed", concern_id=concern_id)
    assert [(e.state, e.escalation_level) for e in missed] == [("acknowledged", "township")]
    await harness.scan(day + timedelta(days=4))
    await harness.scan(day + timedelta(days=5))
    missed = await harness.events("ConcernDeadlineMissed", concern_id=concern_id)
    assert [e.escalation_level for e in missed] == ["township", "county"]
    assert (await harness.client.get(base, headers=township_staff())).json()["deadline_level"] == 2

    # Referring sets the next deadline (the agency's 72 hours) and the ladder starts again.
    referred = await harness.client.post(f"{base}/referrals", json={"agencies": ["civil_affairs"]},
                                         headers=township_staff())
    assert referred.json()["deadline_level"] == 0
    await harness.scan(day + timedelta(days=1))  # before the new deadline: nothing
    assert len(await harness.events("ConcernDeadlineMissed", concern_id=concern_id)) == 2
    await harness.scan(day + timedelta(days=9))  # far behind: both rungs at once, in order
    missed = await harness.events("ConcernDeadlineMissed", concern_id=concern_id)
    assert [(e.state, e.escalation_level) for e in missed[2:]] == [("referred", "township"), ("referred", "county")]


async def test_a_concern_that_needs_no_referral_is_closed_after_acknowledgement(harness: Harness) -> None:
    concern_id = await _raise(harness, category="health", severity="low")
    base = f"/v1/concerns/{concern_id}"
    assert (await harness.client.post(f"{base}/acknowledgement", json={}, headers=township_staff())).status_code == 200
    closed = await harness.client.post(f"{base}/closure", json={"outcome": "resolved"}, headers=township_staff())
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = await harness.client.post(f"{base}/closure", json={"outcome": "resolved"}, headers=township_staff())
    assert again.status_code == 409
    listed = await harness.client.get("/v1/concerns", params={"status": "closed"}, headers=township_staff())
    assert str(concern_id) in {c["id"] for c in listed.json()["items"]}


async def test_each_county_keeps_its_own_agencies(harness: Harness) -> None:
    listed = await harness.client.get("/v1/concern-agencies", headers=township_staff())
    assert listed.status_code == 200
    page = listed.json()
    assert {a["code"] for a in page["items"]} == {"police", "civil_affairs", "womens_federation", "education",
                                                  "procuratorate", "hospital", "legal_aid"}
    assert page["next_cursor"] is None and page["total"] == 7
    county = "330102000000"
    url = f"/v1/admin/concern-agencies/{county}/hospital"
    assert (await harness.client.put(url, json={"name": "县人民医院", "kind": "hospital"},
                                     headers=township_staff())).status_code == 403
    assert (await harness.client.put(f"/v1/admin/concern-agencies/{county}/x", json={"name": "a", "kind": "hospital"},
                                     headers=county_staff())).status_code == 422
    off = await harness.client.put(url, json={"name": "县人民医院", "kind": "hospital", "active": False},
                                   headers=county_staff())
    assert off.status_code == 200 and off.json()["defined_by"] == county
    stale = await harness.client.put(url, json={"name": "县人民医院", "kind": "hospital"},
                                     headers={**county_staff(), "If-Match": '"9"'})
    assert stale.status_code == 412
    added = await harness.client.put(f"/v1/admin/concern-agencies/{county}/chengguan_police_station",
                                     json={"name": "城关派出所", "kind": "police"}, headers=county_staff())
    assert added.status_code == 200 and added.json()["updated_by"] == "county-officer"
    assert (await harness.client.put(f"/v1/admin/concern-agencies/{OTHER_COUNTY}/police",
                                     json={"name": "x", "kind": "police"}, headers=county_staff())).status_code == 404
    assert (await harness.client.put("/v1/admin/concern-agencies/default/police", json={"name": "x", "kind": "police"},
                                     headers=county_staff())).status_code == 403

    agencies = {a["code"]: a for a in (await harness.client.get("/v1/concern-agencies", headers=county_staff())
                                       ).json()["items"]}
    assert agencies["hospital"]["active"] is False and agencies["chengguan_police_station"]["name"] == "城关派出所"
    # Who changed each last (the console's 最近修改): the county's officer, or the defaults as installed.
    assert agencies["hospital"]["updated_by"] == "county-officer" and agencies["police"]["updated_by"] == "migration"
    out_of_scope = await harness.client.get("/v1/concern-agencies", params={"county_code": OTHER_COUNTY},
                                            headers=admin())
    assert out_of_scope.status_code == 404
    city = bearer(roles=["admin"], jurisdiction="330100000000")
    elsewhere = await harness.client.get("/v1/concern-agencies", params={"county_code": OTHER_COUNTY}, headers=city)
    assert "chengguan_police_station" not in {a["code"] for a in elsewhere.json()["items"]}

    concern_id = await _raise(harness, category="violence")
    base = f"/v1/concerns/{concern_id}"
    inactive = await harness.client.post(f"{base}/acknowledgement", json={"referred_to": ["hospital"]},
                                         headers=township_staff())
    assert inactive.status_code == 422 and inactive.json()["errors"][0]["field"] == "body.referred_to"
    assert (await harness.client.post(f"{base}/acknowledgement", json={"referred_to": ["chengguan_police_station"]},
                                      headers=township_staff())).status_code == 200
    to_hospital = await harness.client.post(f"{base}/referrals", json={"agencies": ["hospital"]},
                                            headers=township_staff())
    assert to_hospital.status_code == 422
    to_station = await harness.client.post(f"{base}/referrals", json={"agencies": ["chengguan_police_station"]},
                                           headers=township_staff())
    assert to_station.status_code == 200 and to_station.json()["referrals"][0]["agency_name"] == "城关派出所"


async def test_case_events_reach_kafka_with_states_and_deadlines_only(infra, topic_prefix) -> None:
    async for harness in open_harness(infra, topic_prefix=topic_prefix, relay_poll_interval_s=0.2):
        await ensure_topics(harness.settings)
        relay = asyncio.create_task(OutboxRelay(harness.settings, harness.pool).run())
        try:
            concern_id = await _raise(harness)
            base = f"/v1/concerns/{concern_id}"
            await harness.client.post(f"{base}/acknowledgement", json={"referred_to": ["police"]},
                                      headers=township_staff())
            await harness.client.post(f"{base}/referrals", json={"agencies": ["police"]}, headers=township_staff())

            def states(envelopes: list) -> list[str]:
                return [e.data.state for e in envelopes
                        if e.type == "cn.shouhu.ConcernStateChanged.v1" and e.data.concern_id == concern_id]

            envelopes = await _read_topic(infra.kafka_bootstrap, topic_prefix + VISITS_TOPIC, None,
                                          lambda found: len(states(found)) >= 2)
        finally:
            await stop([relay])
        assert states(envelopes) == ["acknowledged", "referred"]
        changed = [e for e in envelopes if e.type == "cn.shouhu.ConcernStateChanged.v1"]
        assert all(e.subject == str(e.data.child_id) and e.data.deadline is not None for e in changed)
        assert all("police" not in e.data.model_dump_json() and DETAIL not in e.data.model_dump_json()
                   for e in changed)


async def test_the_list_answers_open_concerns_unless_asked_for_all(harness: Harness) -> None:
    """The console's 全部状态 asks for `all`: an acknowledged case must not drop off it."""
    concern_id = await _raise(harness)
    staff = township_staff()
    ack = await harness.client.post(f"/v1/concerns/{concern_id}/acknowledgement", json={"referred_to": ["police"]},
                                    headers=staff)
    assert ack.status_code == 200, ack.text
    child_id = ack.json()["child_id"]
    by_default = await harness.client.get("/v1/concerns", params={"child_id": child_id}, headers=staff)
    assert by_default.json()["items"] == []
    every = await harness.client.get("/v1/concerns", params={"child_id": child_id, "status": "all"}, headers=staff)
    assert [c["id"] for c in every.json()["items"]] == [str(concern_id)]
    assert every.json()["items"][0]["status"] == "acknowledged"

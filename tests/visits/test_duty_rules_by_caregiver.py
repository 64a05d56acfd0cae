"""Duty rules by the caregiver's kind and role in the pairing, beside those by place and
priority: an 爱心妈妈 (caring_mother) helper owes a weekly talk because of her kind, met only
by her own talks; her enrolment may arrive after the pairing; the talk with the guardian
is a duty kind of its own."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.visits.domain_duties import PolicyRule, resolve_periods
from shared.contracts import CaregiverEnrolled, CaregiverUpdated
from tests.support.auth import COUNTY, TOWNSHIP
from tests.visits.harness import HERE, Harness, admin, caregiver, county_staff, now, today

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock

MOTHERS_WEEKLY = f"/v1/admin/duty-policies/{COUNTY}/all/talk"


def test_a_rule_for_the_kind_beats_priority_and_helpers_owe_only_helper_rules() -> None:
    rules = [PolicyRule("", "all", "talk", "monthly"), PolicyRule("", "priority", "talk", "weekly"),
             PolicyRule(COUNTY, "all", "talk", "term", "caring_mother"),
             PolicyRule(TOWNSHIP, "all", "home_visit", "monthly", "", "helper"),
             PolicyRule("", "all", "guardian_talk", "monthly", "caring_mother", "helper")]
    place = dict(county_code=COUNTY, township_code=TOWNSHIP)
    assert resolve_periods(rules, **place, priority=True, caregiver_kind="teacher") == {"talk": "weekly"}
    assert resolve_periods(rules, **place, priority=True, caregiver_kind="caring_mother") == {"talk": "term"}
    assert resolve_periods(rules, **place, priority=False, caregiver_kind=None) == {"talk": "monthly"}
    assert resolve_periods(rules, **place, priority=True, caregiver_kind="teacher", role="helper") == {
        "home_visit": "monthly"}
    assert resolve_periods(rules, **place, priority=False, caregiver_kind="caring_mother", role="helper") == {
        "home_visit": "monthly", "guardian_talk": "monthly"}


async def _enrol(harness: Harness, caregiver_id: uuid.UUID, kind: str, version: int = 1) -> None:
    event_class = CaregiverEnrolled if version == 1 else CaregiverUpdated
    await harness.deliver(event_class(caregiver_id=caregiver_id, kind=kind, jurisdiction=HERE, capacity=3,
                                      record_version=version))


async def _duties(harness: Harness, caregiver_id: uuid.UUID, kind: str = "talk") -> list:
    return await harness.fetch(
        "SELECT * FROM duties WHERE caregiver_id = $1 AND duty_kind = $2 AND status <> 'cancelled' ORDER BY due_on",
        caregiver_id, kind)


async def test_a_caring_mother_helper_owes_a_weekly_talk_met_only_by_her_own_talks(harness: Harness) -> None:
    put = await harness.client.put(MOTHERS_WEEKLY, params={"caregiver_kind": "caring_mother", "role": "helper"},
                                   json={"period": "weekly"}, headers=county_staff())
    assert put.status_code == 200, put.text
    assert (put.json()["caregiver_kind"], put.json()["role"], put.json()["period"]) == ("caring_mother", "helper",
                                                                                       "weekly")
    bad = await harness.client.put(MOTHERS_WEEKLY, params={"caregiver_kind": "aunt"}, json={"period": "weekly"},
                                   headers=county_staff())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.caregiver_kind"
    listed = (await harness.client.get("/v1/admin/duty-policies", headers=county_staff())).json()
    assert {(p["caregiver_kind"], p["role"]) for p in listed["items"]} >= {("any", "lead"), ("caring_mother", "helper")}

    child_id = await harness.child()
    lead_id, mother, teacher_helper = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await _enrol(harness, mother, "caring_mother")
    await _enrol(harness, teacher_helper, "teacher")
    await _enrol(harness, lead_id, "teacher")
    # Paired since this week's Monday: a week the pairing joined late (on a Saturday, paired
    # yesterday) is not owed (first_counted_window), and this test needs this week's talk.
    day = today(harness.settings)
    started = day - timedelta(days=day.weekday())
    await harness.pair(child_id, lead_id, started_on=started)
    await harness.pair(child_id, mother, role="helper", started_on=started)
    await harness.pair(child_id, teacher_helper, role="helper", started_on=started)

    weekly = await _duties(harness, mother)
    assert weekly and all((d["due_on"] - d["period_start"]).days == 6 for d in weekly)
    assert all(d["own_contacts_only"] for d in weekly)
    assert await _duties(harness, teacher_helper) == []  # helpers of other kinds owe nothing
    assert [d["duty_kind"] for d in await harness.fetch(
        "SELECT DISTINCT duty_kind FROM duties WHERE caregiver_id = $1", lead_id)]  # the lead's 三个一 as before
    scheduled = await harness.events("DutyScheduled", caregiver_id=mother)
    assert {e.duty_kind for e in scheduled} == {"talk"}

    this_week = next(d for d in weekly if d["period_start"] <= today(harness.settings) <= d["due_on"])
    talk = {"child_id": str(child_id), "kind": "talk", "occurred_at": now().isoformat()}
    by_lead = await harness.client.post("/v1/contacts", json={**talk, "caregiver_id": str(lead_id)},
                                        headers=caregiver(lead_id))
    assert by_lead.status_code == 201
    assert (await harness.fetch("SELECT status FROM duties WHERE id = $1", this_week["id"]))[0]["status"] == "open"
    by_mother = await harness.client.post("/v1/contacts", json={**talk, "caregiver_id": str(mother)},
                                          headers=caregiver(mother))
    assert by_mother.status_code == 201
    met = (await harness.fetch("SELECT status, fulfilled_by FROM duties WHERE id = $1", this_week["id"]))[0]
    assert met["status"] == "fulfilled" and str(met["fulfilled_by"]) == by_mother.json()["id"]

    mine = await harness.client.get("/v1/me/duties", params={"state": "all"}, headers=caregiver(mother))
    assert mine.status_code == 200 and {d["duty_kind"] for d in mine.json()["items"]} == {"talk"}


async def test_the_kind_arriving_after_the_pairing_derives_her_duties_then(harness: Harness) -> None:
    await harness.client.put(MOTHERS_WEEKLY, params={"caregiver_kind": "caring_mother", "role": "helper"},
                             json={"period": "weekly"}, headers=county_staff())
    child_id = await harness.child()
    mother = uuid.uuid4()
    await harness.pair(child_id, mother, role="helper", started_on=today(harness.settings))
    assert await _duties(harness, mother) == []
    await _enrol(harness, mother, "caring_mother")
    assert await _duties(harness, mother)
    await _enrol(harness, mother, "volunteer", version=2)  # no longer an 爱心妈妈: not owed any more
    assert await _duties(harness, mother) == []
    await _enrol(harness, mother, "caring_mother", version=1)  # an old version changes nothing
    assert await _duties(harness, mother) == []


async def test_the_talk_with_the_guardian_is_a_duty_of_its_own(harness: Harness) -> None:
    put = await harness.client.put("/v1/admin/duty-policies/default/all/guardian_talk", json={"period": "monthly"},
                                   headers=admin())
    assert put.status_code == 200, put.text
    child_id = await harness.child()
    # Paired since the 1st: a month joined in its last days is not owed (first_counted_window),
    # and today's talk must meet this month's duty.
    _, lead_id = await harness.pair(child_id, started_on=today(harness.settings).replace(day=1))
    owed = await _duties(harness, lead_id, "guardian_talk")
    assert owed
    contact = await harness.client.post("/v1/contacts", headers=caregiver(lead_id), json={
        "child_id": str(child_id), "caregiver_id": str(lead_id), "kind": "guardian_talk",
        "occurred_at": now().isoformat()})
    assert contact.status_code == 201, contact.text
    [fulfilled] = await harness.events("DutyFulfilled", caregiver_id=lead_id, duty_kind="guardian_talk")
    assert fulfilled.contact_id == uuid.UUID(contact.json()["id"])

"""Caregivers: enrolment, encrypted contact points, the contact-point read for notify,
capacity defaults per county, optimistic concurrency, deactivation."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from shared.contracts import VisitLogged
from tests.pairing.harness import COUNTY, Place, caregiver_token, service_token, staff
from tests.support.auth import bearer

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock


async def test_enrolment_encrypts_contact_points_and_events_name_only_the_channels(pairing) -> None:
    place = Place.fresh()
    response = await pairing.client.post("/v1/caregivers", headers=staff(), json={
        "kind": "class_teacher", "jurisdiction": place.body(village=False), "school_id": "s-1", "name": "李老师",
        "contact": {"phone": "138 0013 8000", "email": "li@example.cn"}})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["capacity"] == 3 and body["load"] == 0 and body["name"] == "李老师"
    assert sorted(body["channels"]) == ["email", "in_app", "sms"]
    assert "13800138000" not in response.text and "li@example.cn" not in response.text

    stored = (await pairing.fetch("SELECT * FROM caregivers WHERE id = $1", uuid.UUID(body["id"])))[0]
    assert stored["phone_enc"].startswith("v1.") and "138" not in stored["phone_enc"]
    assert "李" not in (stored["name_enc"] or "")
    [event] = [e for e in await pairing.outbox("CaregiverEnrolled") if e["caregiver_id"] == body["id"]]
    assert event["capacity"] == 3 and sorted(event["channels"]) == ["email", "in_app", "sms"]
    assert "13800138000" not in str(event) and "example" not in str(event) and "李" not in str(event)


async def test_notify_reads_contact_points_with_its_service_role_and_the_read_is_audited(pairing) -> None:
    place = Place.fresh()
    caregiver = await pairing.caregiver(place, kind="volunteer",
                                        contact={"phone": "+8613900139000", "wecom_id": "wang.v"})
    url = f"/v1/caregivers/{caregiver['id']}/contact-points"

    notify = bearer(roles=["service"], jurisdiction=COUNTY, subject="notify", permissions=["view_sensitive"])
    read = await pairing.client.get(url, headers={**notify, "X-Purpose": "notification delivery"})
    assert read.status_code == 200 and read.json()["masked"] is False
    assert read.json()["phone"] == "+8613900139000" and read.json()["wecom_id"] == "wang.v"
    assert read.json()["email"] is None
    audit = await pairing.fetch("SELECT subject, roles, purpose, fields FROM read_audit WHERE $1 = ANY(record_ids)",
                                uuid.UUID(caregiver["id"]))
    assert [(a["subject"], a["roles"], a["purpose"], a["fields"]) for a in audit] == [
        ("notify", ["service"], "notification delivery", ["phone", "wecom_id"])]

    # Without view_sensitive and a stated purpose, the phone is masked and the rest left out.
    for headers in (staff(), staff(permissions=["view_sensitive"]), service_token(),
                    {**bearer(roles=["admin"], jurisdiction=COUNTY), "X-Purpose": "check"}):
        masked = await pairing.client.get(url, headers=headers)
        assert masked.status_code == 200 and masked.json()["masked"] is True, headers
        assert masked.json()["phone"] == "139****9000" and masked.json()["wecom_id"] is None
    assert await pairing.fetchval("SELECT count(*) FROM read_audit") == 1
    assert (await pairing.client.get(url, headers=service_token("330103000000"))).status_code == 404
    # The ordinary read never carries the addresses.
    plain = await pairing.client.get(f"/v1/caregivers/{caregiver['id']}", headers=staff())
    assert "13900139000" not in plain.text and "wang.v" not in plain.text


async def test_bad_caregiver_input_is_422_naming_the_field_and_writes_nothing(pairing) -> None:
    place = Place.fresh()
    before = await pairing.fetchval("SELECT count(*) FROM caregivers")
    cases = [
        ({"kind": "teacher", "jurisdiction": place.body(), "contact": {"phone": "12345"}}, "body.contact.phone"),
        ({"kind": "wizard", "jurisdiction": place.body()}, "body.kind"),
        ({"kind": "teacher", "jurisdiction": place.body(), "national_id": "x"}, "body.national_id"),
        ({"kind": "teacher", "jurisdiction": place.body(), "capacity": -1}, "body.capacity"),
    ]
    for body, field in cases:
        response = await pairing.client.post("/v1/caregivers", json=body, headers=staff())
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field
        assert "12345" not in response.text
    outside = await pairing.client.post("/v1/caregivers", headers=staff(place.township), json={
        "kind": "teacher", "jurisdiction": Place.fresh().body()})
    assert outside.status_code == 422
    assert await pairing.fetchval("SELECT count(*) FROM caregivers") == before


async def test_county_capacity_defaults_apply_to_caregivers_without_their_own(pairing) -> None:
    place = Place.fresh()
    follows = await pairing.caregiver(place, kind="party_member")
    own = await pairing.caregiver(place, kind="party_member", capacity=5)
    assert (follows["capacity"], own["capacity"]) == (2, 5)

    put = await pairing.client.put(f"/v1/capacity-defaults/{COUNTY}", json={"capacities": {"party_member": 4}},
                                   headers=staff())
    assert put.status_code == 200 and put.json()["capacities"]["party_member"] == 4
    after = (await pairing.client.get(f"/v1/caregivers/{follows['id']}", headers=staff())).json()
    assert (after["capacity"], after["capacity_source"], after["version"]) == (4, "county", 2)
    assert (await pairing.client.get(f"/v1/caregivers/{own['id']}", headers=staff())).json()["capacity"] == 5
    updates = [e for e in await pairing.outbox("CaregiverUpdated") if e["caregiver_id"] == follows["id"]]
    assert updates[-1]["capacity"] == 4 and updates[-1]["record_version"] == 2
    township_staff = staff(place.township)
    assert (await pairing.client.put(f"/v1/capacity-defaults/{COUNTY}", json={"capacities": {"teacher": 1}},
                                     headers=township_staff)).status_code == 404
    await pairing.client.put(f"/v1/capacity-defaults/{COUNTY}", json={"capacities": {"party_member": 2}},
                             headers=staff())


async def test_changes_need_the_current_version_and_deactivation_ends_pairings(pairing) -> None:
    place = Place.fresh()
    caregiver = await pairing.caregiver(place, kind="volunteer")
    child = await pairing.child(place)
    assert (await pairing.pair(child, caregiver["id"])).status_code == 201
    url = f"/v1/caregivers/{caregiver['id']}"

    lower = await pairing.client.patch(url, json={"capacity": 0}, headers={**staff(), "If-Match": '"1"'})
    assert lower.status_code == 409 and lower.json()["load"] == 1
    stale = await pairing.client.patch(url, json={"name": "x"}, headers={**staff(), "If-Match": '"7"'})
    assert stale.status_code == 412 and stale.json()["version"] == 1
    assert (await pairing.client.patch(url, json={"name": "x"}, headers=staff())).status_code == 428

    off = await pairing.client.patch(url, json={"active": False, "version": 1}, headers=staff())
    assert off.status_code == 200 and off.json()["active"] is False and off.json()["load"] == 0
    assert await pairing.fetchval("SELECT end_reason FROM pairings WHERE child_id = $1", child) == "caregiver_inactive"
    [update] = [e for e in await pairing.outbox("CaregiverUpdated") if e["caregiver_id"] == caregiver["id"]]
    assert update["active"] is False
    listed = (await pairing.client.get("/v1/caregivers", params={"jurisdiction": place.township, "active": "false"},
                                       headers=staff())).json()["items"]
    assert [c["id"] for c in listed] == [caregiver["id"]]


async def test_visit_logged_twice_counts_once_for_the_yearly_evaluation(pairing) -> None:
    place = Place.fresh()
    caregiver = await pairing.caregiver(place, kind="teacher")
    child = await pairing.child(place)
    for kind in ("home_visit", "home_visit", "parent_call"):
        await pairing.deliver(VisitLogged(
            child_id=child, contact_id=uuid.uuid4(), caregiver_id=uuid.UUID(caregiver["id"]), kind=kind,
            occurred_at=datetime(2026, 5, 10, 8, tzinfo=timezone.utc), jurisdiction=place.jurisdiction()),
            consumer="pairing.visits")
    response = await pairing.client.get("/v1/statistics/caregiver-activity", headers=staff(), params={
        "from": "2026-01-01", "to": "2027-01-01", "jurisdiction": place.township})
    assert response.status_code == 200, response.text
    [row] = response.json()["items"]
    assert row["contacts"] == {"home_visit": 2, "parent_call": 1} and row["contacts_total"] == 3
    assert row["contacts_by_month"] == {"2026-05": {"home_visit": 2, "parent_call": 1}}
    empty = await pairing.client.get("/v1/statistics/caregiver-activity", headers=staff(), params={
        "from": "2025-01-01", "to": "2026-01-01", "jurisdiction": place.township})
    assert empty.json()["items"][0]["contacts_total"] == 0


async def test_caregiver_names_in_a_batch_for_staff_in_scope_and_notify(pairing) -> None:
    place, other = Place.fresh(), Place.fresh()
    teacher = await pairing.caregiver(place, school_id="s-names", name="王老师")
    elsewhere = await pairing.caregiver(other, school_id="s-other", name="李老师")
    ids = {"ids": [teacher["id"], elsewhere["id"], str(uuid.uuid4())]}
    county = await pairing.client.post("/v1/caregivers/names", json=ids, headers=staff())
    assert county.json() == {"names": {teacher["id"]: "王老师", elsewhere["id"]: "李老师"}}
    township = await pairing.client.post("/v1/caregivers/names", json=ids, headers=staff(place.township))
    assert township.json() == {"names": {teacher["id"]: "王老师"}}
    principal = staff(other.township, roles=["school_staff"], school_id="s-names")
    assert (await pairing.client.post("/v1/caregivers/names", json=ids, headers=principal)).json() == {"names": {}}
    notify = await pairing.client.post("/v1/caregivers/names", json=ids, headers=service_token())
    assert set(notify.json()["names"]) == {teacher["id"], elsewhere["id"]}
    refused = await pairing.client.post("/v1/caregivers/names", json=ids, headers=caregiver_token(teacher["id"]))
    assert refused.status_code == 403

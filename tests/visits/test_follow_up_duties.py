"""Follow-ups written on a contact with a due date become the caregiver's follow_up
duties: listed as due, reminded before the date and escalated after it by the scheduler's
scan, marked done by the caregiver (or staff in scope); a follow-up without a date stays a
note; a policy change does not touch them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.auth import COUNTY
from tests.visits.harness import Harness, caregiver, county_staff, earlier_today, today, township_staff

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock


async def test_follow_ups_become_duties_reminded_escalated_and_done(harness: Harness) -> None:
    child_id = await harness.child()
    _, teacher = await harness.pair(child_id, started_on=today(harness.settings) - timedelta(days=3))
    day = today(harness.settings)
    soon, later = day + timedelta(days=5), day + timedelta(days=20)
    body = {"child_id": str(child_id), "caregiver_id": str(teacher), "kind": "home_visit",
            "occurred_at": earlier_today(2, harness.settings).isoformat(),
            "follow_ups": [{"action": "联系学校申请营养餐补助", "due_on": str(soon)},
                           {"action": "下次带绘本"},
                           {"action": "与奶奶确认就医情况", "due_on": str(later)},
                           {"action": "再问一次奶奶", "due_on": str(later)}]}
    logged = await harness.client.post("/v1/contacts", json=body, headers=caregiver(teacher))
    assert logged.status_code == 201, logged.text
    contact_id = uuid.UUID(logged.json()["id"])

    duties = await harness.fetch("SELECT * FROM duties WHERE caregiver_id = $1 AND duty_kind = 'follow_up' "
                                 "ORDER BY due_on, id", teacher)
    assert [d["due_on"] for d in duties] == [soon, later, later]  # two due the same day are two duties
    assert {d["period_start"] for d in duties} == {day} and all(d["own_contacts_only"] for d in duties)
    scheduled = await harness.events("DutyScheduled", caregiver_id=teacher, duty_kind="follow_up")
    assert sorted(e.due_on for e in scheduled) == [soon, later, later]
    # Resending the same contact (an offline client) schedules nothing more.
    again = await harness.client.post("/v1/contacts", json={**body, "id": str(contact_id)},
                                      headers=caregiver(teacher))
    assert again.status_code == 200, again.text
    assert await harness.fetchval("SELECT count(*) FROM duties WHERE caregiver_id = $1 AND duty_kind = 'follow_up'",
                                  teacher) == 3

    # The caregiver's work list shows them; the contact says which became duties.
    mine = await harness.client.get("/v1/me/duties", headers=caregiver(teacher))
    assert [d["due_on"] for d in mine.json()["items"] if d["duty_kind"] == "follow_up"] == [str(soon), str(later),
                                                                                         str(later)]
    # Each names the contact it was written on (where its action is read); other duties none.
    assert {(d["duty_kind"] == "follow_up", d["contact_id"], d["plan_id"]) for d in mine.json()["items"]} == {
        (True, str(contact_id), None), (False, None, None)}
    detail = (await harness.client.get(f"/v1/contacts/{contact_id}", headers=caregiver(teacher))).json()
    assert [f["duty_id"] is not None for f in detail["follow_ups"]] == [True, False, True, True]
    assert not any(f["done"] for f in detail["follow_ups"])

    # A policy change derives the pairing again: the follow-ups stay owed.
    policy = await harness.client.put(f"/v1/admin/duty-policies/{COUNTY}/all/letter", json={"period": "monthly"},
                                      headers=county_staff())
    assert policy.status_code == 200, policy.text
    assert await harness.fetchval("SELECT count(*) FROM duties WHERE caregiver_id = $1 AND duty_kind = 'follow_up' "
                                  "AND status = 'open'", teacher) == 3

    # Reminded before its date, escalated after it, like every duty.
    await harness.scan(soon - timedelta(days=1))
    assert soon in [e.due_on for e in await harness.events("DutyDueSoon", caregiver_id=teacher,
                                                           duty_kind="follow_up")]
    await harness.scan(soon + timedelta(days=1))
    [late] = await harness.events("ContactOverdue", caregiver_id=teacher, duty_kind="follow_up")
    assert late.due_on == soon and late.escalation_level == "caregiver"

    # Only its caregiver or staff in scope may mark it done; once.
    first = duties[0]["id"]
    assert (await harness.client.post(f"/v1/duties/{first}/completion",
                                      headers=caregiver(uuid.uuid4()))).status_code == 404
    assert (await harness.client.post(f"/v1/duties/{first}/completion",
                                      headers=township_staff("330102002000"))).status_code == 404
    done = await harness.client.post(f"/v1/duties/{first}/completion", headers=caregiver(teacher))
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "fulfilled" and done.json()["fulfilled_by"] == str(contact_id)
    [met] = await harness.events("DutyFulfilled", caregiver_id=teacher, duty_kind="follow_up")
    assert met.contact_id == contact_id and met.due_on == soon
    twice = await harness.client.post(f"/v1/duties/{first}/completion", headers=caregiver(teacher))
    assert twice.status_code == 409
    third = detail["follow_ups"][2]["duty_id"]  # (two fall due the same day: by the contact's order, not the duty id's)
    by_staff = await harness.client.post(f"/v1/duties/{third}/completion", headers=township_staff())
    assert by_staff.status_code == 200, by_staff.text
    detail = (await harness.client.get(f"/v1/contacts/{contact_id}", headers=caregiver(teacher))).json()
    assert [f["done"] for f in detail["follow_ups"]] == [True, False, True, False]

    # A duty by policy is no follow-up: it is met by a contact, not marked done.
    home_visit = await harness.fetchval("SELECT id FROM duties WHERE caregiver_id = $1 AND duty_kind = 'talk' "
                                        "LIMIT 1", teacher)
    assert (await harness.client.post(f"/v1/duties/{home_visit}/completion",
                                      headers=caregiver(teacher))).status_code == 404


async def test_follow_ups_of_a_caregiver_no_longer_paired_stay_notes(harness: Harness) -> None:
    child_id = await harness.child()
    pairing_id, teacher = await harness.pair(child_id, started_on=today(harness.settings) - timedelta(days=10))
    await harness.end_pairing(child_id, pairing_id, teacher, today(harness.settings) - timedelta(days=1))
    body = {"child_id": str(child_id), "caregiver_id": str(teacher), "kind": "talk",
            "occurred_at": earlier_today(2, harness.settings).isoformat(),
            "follow_ups": [{"action": "转告新的帮扶人", "due_on": str(today(harness.settings) + timedelta(days=3))}]}
    logged = await harness.client.post("/v1/contacts", json=body, headers=county_staff())
    assert logged.status_code == 201, logged.text
    assert await harness.fetchval("SELECT count(*) FROM duties WHERE child_id = $1 AND duty_kind = 'follow_up'",
                                  child_id) == 0

"""Handlers on a real database: routing per rules, recipients, redelivery, out-of-order."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest

from shared.conditional import no_precondition
from services.notify import store_admin, store_family
from shared import clock
from shared.consumer import DependencyMissing
from shared.contracts import (
    CaregiverEnrolled, ChildUpdated, ConcernDeadlineMissed, ConcernRaised, ContactOverdue, DutyDueSoon, PairingCreated,
    VisitLogged,
)
from shared.crypto import FieldCipher
from tests.notify.conftest import notify_settings
from tests.notify.support import COUNTY, J, TOWNSHIP, child, consume, enrol, envelope, handle, rows

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock


@pytest.fixture
def settings(notify_db):  # type: ignore[no-untyped-def]
    return notify_settings(notify_db)


async def _staff(pool, staff_id: str, jurisdiction: str, level: str, channels=("sms",), school_id=None):  # type: ignore[no-untyped-def]
    cipher = FieldCipher.development()
    recipient_id = uuid.uuid4()
    contacts = {"sms": "+8613800138000"} if "sms" in channels else {}
    async with pool.acquire() as conn:
        await store_admin.insert_staff(conn, recipient_id=recipient_id, staff_id=staff_id, jurisdiction=jurisdiction,
                                       level=level, school_id=school_id, channels=list(channels),
                                       contacts_enc=cipher.encrypt(json.dumps(contacts),
                                                                   context=f"staff_recipients.contacts:{recipient_id}"))
    return recipient_id


async def test_visit_before_its_child_waits_then_one_inbox_notice_however_often_delivered(pool, settings) -> None:
    kid = child()
    caregiver = uuid.uuid4()
    visit = VisitLogged(child_id=kid.child_id, contact_id=uuid.uuid4(), caregiver_id=caregiver, kind="home_visit",
                        occurred_at=clock.from_env().now(), jurisdiction=J)
    visit_env = envelope(visit)
    with pytest.raises(DependencyMissing):
        await handle(pool, settings, visit_env)
    await consume(pool, settings, kid, event_id=uuid.uuid4())
    await consume(pool, settings, CaregiverEnrolled(caregiver_id=caregiver, kind="volunteer", jurisdiction=J,
                                                    capacity=2, channels=(), record_version=1), event_id=uuid.uuid4())
    await handle(pool, settings, visit_env)
    await handle(pool, settings, visit_env)  # a redelivery that slipped past the inbox adds nothing
    await consume(pool, settings, visit, event_id=visit_env.id)  # and through the consumer, twice
    found = await rows(pool, "SELECT * FROM notifications WHERE source_event_id = $1", visit_env.id)
    assert [(r["recipient_id"], r["channel"], r["status"], r["template"]) for r in found] == [
        (str(caregiver), "in_app", "sent", "contact_logged")]
    sent = await rows(pool, "SELECT payload FROM outbox WHERE event_type = 'cn.shouhu.NotificationSent.v1' "
                            "AND payload->>'source_event_id' = $1", str(visit_env.id))
    assert len(sent) == 1


async def test_a_duty_reminder_before_its_caregiver_waits_and_then_goes_by_sms_too(pool, settings) -> None:
    """CaregiverEnrolled comes on pairing's topic and may arrive after a DutyDueSoon from
    visits' topic: planned at once, the reminder would have reached the inbox only."""
    kid = child()
    await handle(pool, settings, envelope(kid))
    caregiver = uuid.uuid4()
    due = envelope(DutyDueSoon(child_id=kid.child_id, duty_id=uuid.uuid4(), caregiver_id=caregiver,
                               duty_kind="letter", due_on=date(2026, 12, 20), jurisdiction=J))
    with pytest.raises(DependencyMissing):
        await handle(pool, settings, due)
    assert await rows(pool, "SELECT 1 FROM notifications WHERE source_event_id = $1", due.id) == []
    await handle(pool, settings, envelope(CaregiverEnrolled(
        caregiver_id=caregiver, kind="volunteer", jurisdiction=J, capacity=2, channels=("sms",), record_version=1)))
    await handle(pool, settings, due)
    found = await rows(pool, "SELECT channel FROM notifications WHERE source_event_id = $1 ORDER BY channel", due.id)
    assert [r["channel"] for r in found] == ["in_app", "sms"]


async def test_child_projection_keeps_the_newest_version(pool, settings) -> None:
    kid = child(version=2, school_id="school-new")
    await handle(pool, settings, envelope(kid))
    older = ChildUpdated(**{**kid.model_dump(), "record_version": 1, "school_id": "school-old"})
    await handle(pool, settings, envelope(older))
    [row] = await rows(pool, "SELECT school_id, record_version FROM children WHERE id = $1", kid.child_id)
    assert (row["school_id"], row["record_version"]) == ("school-new", 2)


async def test_duty_reminder_goes_to_the_caregiver_inbox_and_one_push_channel(pool, settings) -> None:
    kid = child()
    await handle(pool, settings, envelope(kid))
    caregiver = uuid.uuid4()
    await handle(pool, settings, envelope(CaregiverEnrolled(
        caregiver_id=caregiver, kind="teacher", jurisdiction=J, capacity=3, channels=("sms", "email"),
        record_version=1)))
    due = envelope(DutyDueSoon(child_id=kid.child_id, duty_id=uuid.uuid4(), caregiver_id=caregiver,
                               duty_kind="home_visit", due_on=date(2026, 12, 1), jurisdiction=J))
    await handle(pool, settings, due)
    found = await rows(pool, "SELECT channel, status, quiet_start FROM notifications WHERE source_event_id = $1 "
                             "ORDER BY channel", due.id)
    assert [(r["channel"], r["status"]) for r in found] == [("in_app", "sent"), ("sms", "pending")]
    assert found[1]["quiet_start"] is not None  # caregivers' default quiet hours apply to SMS


async def test_overdue_escalation_reaches_township_staff_only(pool, settings) -> None:
    kid = child()
    await handle(pool, settings, envelope(kid))
    await _staff(pool, "twp-head", TOWNSHIP, "township")
    await _staff(pool, "county-head", COUNTY, "county")
    overdue = envelope(ContactOverdue(child_id=kid.child_id, duty_id=uuid.uuid4(), caregiver_id=uuid.uuid4(),
                                      duty_kind="talk", due_on=date(2026, 11, 1), days_overdue=9,
                                      escalation_level="township", jurisdiction=J))
    await handle(pool, settings, overdue)
    found = await rows(pool, "SELECT recipient_kind, recipient_id, channel, variables FROM notifications "
                             "WHERE source_event_id = $1 ORDER BY channel", overdue.id)
    assert {(r["recipient_id"], r["channel"]) for r in found} == {("twp-head", "in_app"), ("twp-head", "sms")}
    assert found[0]["variables"]["days_overdue"] == 9


async def test_concern_goes_to_whoever_is_on_duty_on_every_channel_at_once(pool, settings) -> None:
    township = "330102002000"
    jurisdiction = J.model_copy(update={"township_code": township, "village_code": None})
    kid = child(jurisdiction=jurisdiction)
    await handle(pool, settings, envelope(kid))
    on_duty = await _staff(pool, "duty-officer", township, "township", channels=("sms",))
    await _staff(pool, "off-duty", township, "township")
    now = clock.from_env().now()
    async with pool.acquire() as conn:
        await store_admin.insert_shift(conn, uuid.uuid4(), on_duty, township, now - timedelta(hours=1),
                                       now + timedelta(hours=1))
    concern = envelope(ConcernRaised(child_id=kid.child_id, concern_id=uuid.uuid4(), contact_id=uuid.uuid4(),
                                     severity="high", mandatory_report=True, raised_at=now, jurisdiction=jurisdiction))
    await handle(pool, settings, concern)
    found = await rows(pool, "SELECT recipient_id, channel, urgent, quiet_start FROM notifications "
                             "WHERE source_event_id = $1", concern.id)
    assert {(r["recipient_id"], r["channel"]) for r in found} == {("duty-officer", "in_app"), ("duty-officer", "sms")}
    assert all(r["urgent"] and r["quiet_start"] is None for r in found)


async def test_opted_out_recipient_keeps_the_inbox_but_mandatory_alerts_still_push(pool, settings) -> None:
    township = "330102003000"
    jurisdiction = J.model_copy(update={"township_code": township, "village_code": None})
    kid = child(jurisdiction=jurisdiction)
    await handle(pool, settings, envelope(kid))
    await _staff(pool, "quiet-one", township, "township")
    async with pool.acquire() as conn:
        await store_admin.put_preferences(conn, "staff", "quiet-one", channels=None, opt_out_non_urgent=True,
                                          quiet_start=None, quiet_end=None, timezone="Asia/Shanghai",
                                          precondition=no_precondition)
    overdue = envelope(ContactOverdue(child_id=kid.child_id, duty_id=uuid.uuid4(), caregiver_id=uuid.uuid4(),
                                      duty_kind="talk", due_on=date(2026, 11, 1), days_overdue=9,
                                      escalation_level="township", jurisdiction=jurisdiction))
    await handle(pool, settings, overdue)
    assert [r["channel"] for r in await rows(pool, "SELECT channel FROM notifications WHERE source_event_id = $1",
                                             overdue.id)] == ["in_app"]
    concern = envelope(ConcernRaised(child_id=kid.child_id, concern_id=uuid.uuid4(), contact_id=uuid.uuid4(),
                                     severity="low", mandatory_report=True, raised_at=clock.from_env().now(),
                                     jurisdiction=jurisdiction))
    await handle(pool, settings, concern)  # nobody on the roster: falls back to the township's staff
    assert sorted(r["channel"] for r in await rows(
        pool, "SELECT channel FROM notifications WHERE source_event_id = $1", concern.id)) == ["in_app", "sms"]


async def test_guardians_are_told_of_a_pairing_only_where_a_county_rule_says_so(pool, settings) -> None:
    kid = child()
    await handle(pool, settings, envelope(kid))
    caregiver = uuid.uuid4()
    await enrol(pool, settings, caregiver)
    pairing = dict(child_id=kid.child_id, pairing_id=uuid.uuid4(), caregiver_id=caregiver, jurisdiction=J,
                   started_on=date(2026, 9, 1))
    first = envelope(PairingCreated(**pairing))
    await handle(pool, settings, first)
    assert {r["recipient_kind"] for r in await rows(
        pool, "SELECT recipient_kind FROM notifications WHERE source_event_id = $1", first.id)} == {"caregiver"}
    async with pool.acquire() as conn:
        await store_admin.put_rule(conn, COUNTY, "PairingCreated", "guardian", "pairing_created_guardian", ["sms"],
                                   True, no_precondition)
    second = envelope(PairingCreated(**{**pairing, "pairing_id": uuid.uuid4()}))
    await handle(pool, settings, second)
    # Nobody in the family has agreed to messages yet: none is planned.
    assert not await rows(pool, "SELECT 1 FROM notifications WHERE source_event_id = $1 AND recipient_kind = "
                                "'guardian'", second.id)
    # The grandmother agreed (in person); the mother was asked and declined: only she is told.
    grandmother, mother = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        for member, kind, yes in ((grandmother, "guardian", True), (mother, "parent", False)):
            await store_family.record_consent(conn, child_id=kid.child_id, member_id=member, member_kind=kind,
                                              opted_in=yes, how="in_person", recorded_by="t", at=clock.from_env().now())
    third = envelope(PairingCreated(**{**pairing, "pairing_id": uuid.uuid4()}))
    await handle(pool, settings, third)
    guardian = await rows(pool, "SELECT recipient_id, channel, template, quiet_start, quiet_end FROM notifications "
                                "WHERE source_event_id = $1 AND recipient_kind = 'guardian'", third.id)
    assert [(r["recipient_id"], r["channel"], r["template"]) for r in guardian] == [
        (str(grandmother), "sms", "pairing_created_guardian")]
    assert (guardian[0]["quiet_start"].isoformat(), guardian[0]["quiet_end"].isoformat()) == ("21:00:00", "07:30:00")


async def test_a_missed_case_deadline_goes_to_the_level_on_duty_and_names_no_nature(pool, settings) -> None:
    township = "330102004000"
    jurisdiction = J.model_copy(update={"township_code": township, "village_code": None})
    kid = child(jurisdiction=jurisdiction)
    await handle(pool, settings, envelope(kid))
    await _staff(pool, "case-officer", township, "township", channels=("sms",))
    await _staff(pool, "county-officer", COUNTY, "county", channels=("sms",))
    missed = dict(child_id=kid.child_id, concern_id=uuid.uuid4(), state="referred", severity="high",
                  deadline=clock.from_env().now(), mandatory_report=True, jurisdiction=jurisdiction)
    first = envelope(ConcernDeadlineMissed(**missed, escalation_level="township"))
    await handle(pool, settings, first)
    await handle(pool, settings, first)
    found = await rows(pool, "SELECT recipient_id, channel, template, urgent, variables::text AS v FROM notifications"
                             " WHERE source_event_id = $1", first.id)
    assert {(r["recipient_id"], r["channel"]) for r in found} == {("case-officer", "in_app"), ("case-officer", "sms")}
    assert all(r["template"] == "concern_deadline_missed" and r["urgent"] for r in found)
    assert all('"state": "referred"' in r["v"] for r in found)
    second = envelope(ConcernDeadlineMissed(**missed, escalation_level="county"))
    await handle(pool, settings, second)
    county = {r["recipient_id"] for r in await rows(
        pool, "SELECT recipient_id FROM notifications WHERE source_event_id = $1", second.id)}
    assert "county-officer" in county and "case-officer" not in county  # the next rung, not the same one

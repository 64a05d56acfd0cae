"""Every event reports consumes, delivered twice through the real inbox path: one fact
each, with the time it took effect; later facts complete earlier ones, never duplicate."""

from __future__ import annotations

import uuid
from datetime import date

from shared.contracts import (
    CaregiverEnrolled, CaregiverUpdated, ChildClosed, ChildRegistered, ChildReopened, ChildTransferred, ChildUpdated,
    ConcernAcknowledged, ConcernEscalated, ConcernRaised, ContactOverdue, DutyCancelled, DutyDueSoon, DutyFulfilled,
    DutyScheduled, ExpectedCountSet, PairingCreated, PairingEnded, SupportRecorded, VisitLogged,
)
from tests.reports.harness import TOWNSHIP_A, TOWNSHIP_B, Harness, at, place

DAY = date(2024, 3, 5)


async def test_each_child_event_is_one_version_effective_at_its_time(reports: Harness) -> None:
    child = uuid.uuid4()
    here, there = place(TOWNSHIP_A), place(TOWNSHIP_B)
    await reports.deliver(ChildRegistered(child_id=child, jurisdiction=here, school_id="s-1",
                                          categories=("left_behind",), record_version=1), at(DAY))
    await reports.deliver(ChildUpdated(child_id=child, jurisdiction=here, school_id="s-1", priority=True,
                                       record_version=2), at(DAY, 11))
    await reports.deliver(ChildTransferred(child_id=child, jurisdiction=there, school_id="s-2", from_jurisdiction=here,
                                           from_school_id="s-1", status="transferred", record_version=3), at(DAY, 12))
    await reports.deliver(ChildClosed(child_id=child, jurisdiction=there, status="closed", reason="parents_returned",
                                      record_version=4), at(DAY, 13))
    await reports.deliver(ChildReopened(child_id=child, jurisdiction=there, record_version=5), at(DAY, 14))
    rows = await reports.fetch("SELECT * FROM child_versions WHERE child_id = $1 ORDER BY record_version", child)
    assert [(r["event_type"], r["status"], r["effective_at"].hour) for r in rows] == [
        ("ChildRegistered", "active", 2), ("ChildUpdated", "active", 3), ("ChildTransferred", "transferred", 4),
        ("ChildClosed", "closed", 5), ("ChildReopened", "active", 6)]  # UTC hours of 10:00–14:00 in China
    assert (rows[2]["from_township_code"], rows[2]["from_school_id"], rows[2]["school_id"]) == (TOWNSHIP_A, "s-1", "s-2")
    assert rows[3]["close_reason"] == "parents_returned" and rows[0]["categories"] == ["left_behind"]


async def test_expected_counts_keep_every_value_with_its_time(reports: Harness) -> None:
    for hour, expected in ((9, 40), (15, 42)):
        await reports.deliver(ExpectedCountSet(kind="township", code=TOWNSHIP_B, township_code=TOWNSHIP_B,
                                               expected=expected), at(DAY, hour))
    rows = await reports.fetch("SELECT expected FROM expected_counts WHERE code = $1 ORDER BY effective_at", TOWNSHIP_B)
    assert [row["expected"] for row in rows] == [40, 42]


async def test_caregivers_and_pairings_with_their_dates(reports: Harness) -> None:
    caregiver, child, pairing = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    here = place(TOWNSHIP_A)
    await reports.deliver(CaregiverEnrolled(caregiver_id=caregiver, kind="teacher", jurisdiction=here, capacity=3,
                                            record_version=1), at(DAY))
    await reports.deliver(CaregiverUpdated(caregiver_id=caregiver, kind="teacher", jurisdiction=here, capacity=2,
                                           active=False, record_version=2), at(DAY, 11))
    assert await reports.fetchval("SELECT count(*) FROM caregiver_versions WHERE caregiver_id = $1", caregiver) == 2
    await reports.deliver(PairingCreated(child_id=child, pairing_id=pairing, caregiver_id=caregiver, jurisdiction=here,
                                         school_id="s-1", started_on=DAY), at(DAY))
    await reports.deliver(PairingEnded(child_id=child, pairing_id=pairing, caregiver_id=caregiver, jurisdiction=here,
                                       ended_on=date(2024, 4, 1), reason="reassigned"), at(date(2024, 4, 1)))
    [row] = await reports.fetch("SELECT * FROM pairings WHERE pairing_id = $1", pairing)
    assert (row["started_on"], row["ended_on"], row["end_reason"], row["school_id"]) == (
        DAY, date(2024, 4, 1), "reassigned", "s-1")


async def test_aid_given_is_one_fact_dated_when_given_and_known_when_recorded(reports: Harness) -> None:
    child, aid, repeat = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await reports.deliver(SupportRecorded(child_id=child, support_id=aid, kind="financial_aid", amount_fen=60000,
                                          given_on=DAY, jurisdiction=place(TOWNSHIP_A), school_id="s-1"),
                          at(date(2024, 3, 7), 16))
    await reports.deliver(SupportRecorded(child_id=child, support_id=repeat, kind="in_kind", given_on=DAY,
                                          jurisdiction=place(TOWNSHIP_A), duplicate_of=aid), at(DAY))
    rows = await reports.fetch("SELECT * FROM support_given WHERE child_id = $1 ORDER BY recorded_at", child)
    assert [(r["support_id"], r["kind"], r["amount_fen"], r["given_on"], r["duplicate_of"]) for r in rows] == [
        (repeat, "in_kind", 0, DAY, aid), (aid, "financial_aid", 60000, DAY, None)]
    assert rows[1]["recorded_at"] == at(date(2024, 3, 7), 16) and rows[1]["school_id"] == "s-1"
    assert (rows[1]["county_code"], rows[1]["township_code"], rows[1]["village_code"]) == (
        place(TOWNSHIP_A).county_code, TOWNSHIP_A, place(TOWNSHIP_A).village_code)


async def test_an_end_before_its_pairing_waits_for_it(reports: Harness) -> None:
    child, pairing, caregiver = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await reports.deliver(PairingEnded(child_id=child, pairing_id=pairing, caregiver_id=caregiver,
                                       jurisdiction=place(TOWNSHIP_A), ended_on=DAY, reason="other"), at(DAY))
    parked = await reports.fetch("SELECT kind FROM dead_letters WHERE event_type = 'cn.shouhu.PairingEnded.v1'")
    assert [row["kind"] for row in parked] == ["waiting"]


async def test_contacts_concerns_and_their_follow_ups(reports: Harness) -> None:
    child, caregiver, contact, concern = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    here = place(TOWNSHIP_A)
    await reports.deliver(VisitLogged(child_id=child, contact_id=contact, caregiver_id=caregiver, kind="home_visit",
                                      occurred_at=at(DAY, 9), jurisdiction=here, concern_raised=True), at(DAY, 18))
    await reports.deliver(ConcernRaised(child_id=child, concern_id=concern, contact_id=contact, severity="high",
                                        mandatory_report=True, raised_at=at(DAY, 18), jurisdiction=here), at(DAY, 18))
    await reports.deliver(ConcernEscalated(child_id=child, concern_id=concern, severity="high", mandatory_report=True,
                                           escalation_level="county", jurisdiction=here), at(DAY, 20))
    await reports.deliver(ConcernAcknowledged(child_id=child, concern_id=concern, acknowledged_at=at(DAY, 21),
                                              jurisdiction=here), at(DAY, 21))
    [row] = await reports.fetch("SELECT * FROM contacts WHERE contact_id = $1", contact)
    assert (row["kind"], row["occurred_at"], row["recorded_at"]) == ("home_visit", at(DAY, 9), at(DAY, 18))
    [row] = await reports.fetch("SELECT * FROM concerns WHERE concern_id = $1", concern)
    assert (row["mandatory_report"], row["escalation_level"], row["acknowledged_at"]) == (True, "county", at(DAY, 21))


def _duty(cls, duty_id, **facts):  # type: ignore[no-untyped-def]
    return cls(child_id=facts.pop("child_id"), duty_id=duty_id, caregiver_id=facts.pop("caregiver_id"),
               duty_kind="home_visit", due_on=date(2024, 3, 31), jurisdiction=place(TOWNSHIP_A), school_id="s-1",
               **facts)


async def test_a_duty_is_scheduled_announced_and_fulfilled_once(reports: Harness) -> None:
    duty, child, caregiver, contact = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids = {"child_id": child, "caregiver_id": caregiver}
    await reports.deliver(_duty(DutyScheduled, duty, period_start=date(2024, 3, 1), **ids), at(date(2024, 3, 1)))
    await reports.deliver(_duty(DutyDueSoon, duty, **ids), at(date(2024, 3, 28)))
    await reports.deliver(_duty(ContactOverdue, duty, days_overdue=1, **ids), at(date(2024, 4, 1)))
    await reports.deliver(_duty(DutyFulfilled, duty, contact_id=contact, fulfilled_at=at(date(2024, 4, 2)), **ids),
                          at(date(2024, 4, 2)))
    [row] = await reports.fetch("SELECT * FROM duties WHERE duty_id = $1", duty)
    assert (row["period_start"], row["scheduled_at"], row["first_overdue_at"], row["fulfilled_at"],
            row["fulfilled_by"], row["cancelled_at"]) == (
        date(2024, 3, 1), at(date(2024, 3, 1)), at(date(2024, 4, 1)), at(date(2024, 4, 2)), contact, None)


async def test_a_cancelled_duty_owed_again_is_open(reports: Harness) -> None:
    duty, child, caregiver = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids = {"child_id": child, "caregiver_id": caregiver}
    await reports.deliver(_duty(DutyScheduled, duty, period_start=date(2024, 3, 1), **ids), at(date(2024, 3, 1)))
    await reports.deliver(_duty(DutyCancelled, duty, cancelled_at=at(date(2024, 3, 5)), **ids), at(date(2024, 3, 5)))
    assert await reports.fetchval("SELECT cancelled_at FROM duties WHERE duty_id = $1", duty) == at(date(2024, 3, 5))
    await reports.deliver(_duty(DutyScheduled, duty, period_start=date(2024, 3, 1), **ids), at(date(2024, 3, 9)))
    [row] = await reports.fetch("SELECT * FROM duties WHERE duty_id = $1", duty)
    assert row["cancelled_at"] is None and row["scheduled_at"] == at(date(2024, 3, 1))


async def test_every_delivery_above_was_applied_once(reports: Harness) -> None:
    """Each event went through the inbox twice: one inbox row each, except the end that
    waits for its pairing (parked, not applied); no poison."""
    assert await reports.fetchval("SELECT count(*) FROM inbox") == reports.delivered - 1
    assert await reports.fetchval("SELECT count(*) FROM dead_letters WHERE kind = 'poison'") == 0

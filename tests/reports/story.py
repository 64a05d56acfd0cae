"""A small county's January and February 2024, as events: what the summary tests read.

Township A expects 4 children, B 2. January: children 1–3 registered in A; child 1
paired, visited once. February: child 4 registered in B and paired; child 5 (a priority
child, school s-2) registered in A, paired on the 12th, that pairing ended on the 25th;
child 3 closed on the 20th; a home visit, a video call with the parents and a talk; four
duties due on the 29th: one met on time, one met by a contact logged on 2 March, one
never met, one cancelled; one concern under the mandatory-report rule."""

from __future__ import annotations

import uuid
from datetime import date

from shared.contracts import (
    ChildClosed, ChildRegistered, ConcernRaised, DutyCancelled, DutyFulfilled, DutyScheduled, ExpectedCountSet,
    PairingCreated, PairingEnded, VisitLogged,
)
from tests.reports.harness import TOWNSHIP_A, TOWNSHIP_B, Harness, at, place

FEB_END = date(2024, 2, 29)


async def tell(reports: Harness) -> dict[str, uuid.UUID]:
    a, b = place(TOWNSHIP_A), place(TOWNSHIP_B)
    ids = {name: uuid.uuid4() for name in ("c1", "c2", "c3", "c4", "c5", "g1", "g2", "g3", "p1", "p2", "p3")}
    for code, expected in ((TOWNSHIP_A, 4), (TOWNSHIP_B, 2)):
        await reports.deliver(ExpectedCountSet(kind="township", code=code, township_code=code, expected=expected),
                              at(date(2024, 1, 10), 8))
    for name in ("c1", "c2", "c3"):
        await reports.deliver(ChildRegistered(child_id=ids[name], jurisdiction=a, school_id="s-1", record_version=1),
                              at(date(2024, 1, 10)))
    await reports.deliver(PairingCreated(child_id=ids["c1"], pairing_id=ids["p1"], caregiver_id=ids["g1"],
                                         jurisdiction=a, started_on=date(2024, 1, 15)), at(date(2024, 1, 15)))
    await _contact(reports, ids["c1"], ids["g1"], "home_visit", date(2024, 1, 20), a)

    await reports.deliver(ChildRegistered(child_id=ids["c4"], jurisdiction=b, school_id="s-3", record_version=1),
                          at(date(2024, 2, 5)))
    await reports.deliver(PairingCreated(child_id=ids["c4"], pairing_id=ids["p2"], caregiver_id=ids["g2"],
                                         jurisdiction=b, started_on=date(2024, 2, 6)), at(date(2024, 2, 6)))
    await reports.deliver(ChildRegistered(child_id=ids["c5"], jurisdiction=a, school_id="s-2", priority=True,
                                          record_version=1), at(date(2024, 2, 10)))
    await reports.deliver(PairingCreated(child_id=ids["c5"], pairing_id=ids["p3"], caregiver_id=ids["g3"],
                                         jurisdiction=a, school_id="s-2", priority=True, started_on=date(2024, 2, 12)),
                          at(date(2024, 2, 12)))
    await reports.deliver(PairingEnded(child_id=ids["c5"], pairing_id=ids["p3"], caregiver_id=ids["g3"],
                                       jurisdiction=a, ended_on=date(2024, 2, 25), reason="reassigned"),
                          at(date(2024, 2, 25)))
    await reports.deliver(ChildClosed(child_id=ids["c3"], jurisdiction=a, school_id="s-1", status="closed",
                                      reason="parents_returned", record_version=2), at(date(2024, 2, 20)))
    visit = await _contact(reports, ids["c1"], ids["g1"], "home_visit", date(2024, 2, 3), a)
    await _contact(reports, ids["c1"], ids["g1"], "parent_video", date(2024, 2, 14), a)
    await _contact(reports, ids["c4"], ids["g2"], "talk", date(2024, 2, 8), b)
    await reports.deliver(ConcernRaised(child_id=ids["c4"], concern_id=uuid.uuid4(), contact_id=visit,
                                        severity="urgent", mandatory_report=True, raised_at=at(date(2024, 2, 8)),
                                        jurisdiction=b), at(date(2024, 2, 8)))

    def duty(cls, child: str, caregiver: str, kind: str, where, **facts):  # type: ignore[no-untyped-def]
        return cls(child_id=ids[child], caregiver_id=ids[caregiver], duty_kind=kind, due_on=FEB_END,
                   jurisdiction=where, school_id="s-1", **facts)

    on_time, late, missed, cancelled = (uuid.uuid4() for _ in range(4))
    for duty_id, child, caregiver, kind, where in ((on_time, "c1", "g1", "home_visit", a),
                                                   (late, "c1", "g1", "parent_call", a),
                                                   (missed, "c4", "g2", "home_visit", b),
                                                   (cancelled, "c5", "g3", "home_visit", a)):
        await reports.deliver(duty(DutyScheduled, child, caregiver, kind, where, duty_id=duty_id,
                                   period_start=date(2024, 2, 1)), at(date(2024, 2, 1), 1))
    await reports.deliver(duty(DutyFulfilled, "c1", "g1", "home_visit", a, duty_id=on_time, contact_id=visit,
                               fulfilled_at=at(date(2024, 2, 3))), at(date(2024, 2, 3)))
    await reports.deliver(duty(DutyFulfilled, "c1", "g1", "parent_call", a, duty_id=late, contact_id=uuid.uuid4(),
                               fulfilled_at=at(date(2024, 3, 2))), at(date(2024, 3, 2)))
    await reports.deliver(duty(DutyCancelled, "c5", "g3", "home_visit", a, duty_id=cancelled,
                               cancelled_at=at(date(2024, 2, 25))), at(date(2024, 2, 25)))
    return ids


async def _contact(reports: Harness, child: uuid.UUID, caregiver: uuid.UUID, kind: str, day: date,
                   where) -> uuid.UUID:  # type: ignore[no-untyped-def]
    contact_id = uuid.uuid4()
    await reports.deliver(VisitLogged(child_id=child, contact_id=contact_id, caregiver_id=caregiver, kind=kind,
                                      occurred_at=at(day), jurisdiction=where), at(day, 20))
    return contact_id

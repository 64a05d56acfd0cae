"""Casework in the work summary: concern cases by the state they stood in at the end of the
period (from ConcernStateChanged, as known on the as-of date), everyone who came to the
activities by type, and the period's duties by kind (plan reviews and follow-ups done on
time, late, or overdue)."""

from __future__ import annotations

import uuid
from datetime import date

from shared.contracts import (
    ActivityHeld, ChildRegistered, ConcernRaised, ConcernStateChanged, DutyFulfilled, DutyScheduled,
)
from tests.reports.harness import TOWNSHIP_A, TOWNSHIP_B, Harness, at, place, staff

MARCH = {"from": "2024-03-01", "to": "2024-03-31", "as_of": "2024-03-31"}


async def _case(reports: Harness, child: uuid.UUID, township: str, raised: date,
                states: list[tuple[str, date, date]]) -> None:
    """A concern raised on `raised`, then each (state, changed on, recorded on)."""
    concern = uuid.uuid4()
    await reports.deliver(ConcernRaised(child_id=child, concern_id=concern, contact_id=uuid.uuid4(), severity="high",
                                        mandatory_report=True, raised_at=at(raised), jurisdiction=place(township)),
                          at(raised))
    for state, changed, recorded in states:
        await reports.deliver(ConcernStateChanged(child_id=child, concern_id=concern, state=state,
                                                  changed_at=at(changed, 11), mandatory_report=True,
                                                  jurisdiction=place(township)), at(recorded, 12))


async def _duty(reports: Harness, child: uuid.UUID, kind: str, due: date, done: date | None) -> None:
    facts = dict(child_id=child, duty_id=uuid.uuid4(), caregiver_id=uuid.uuid4(), duty_kind=kind, due_on=due,
                 jurisdiction=place(TOWNSHIP_A))
    await reports.deliver(DutyScheduled(**facts, period_start=date(2024, 3, 1)), at(date(2024, 3, 1)))
    if done is not None:
        await reports.deliver(DutyFulfilled(**facts, contact_id=uuid.uuid4(), fulfilled_at=at(done)), at(done))


async def test_cases_activities_and_duties_by_kind_are_counted(reports: Harness) -> None:
    child = uuid.uuid4()
    await reports.deliver(ChildRegistered(child_id=child, jurisdiction=place(TOWNSHIP_A), record_version=1),
                          at(date(2024, 1, 5)))
    await _case(reports, child, TOWNSHIP_A, date(2024, 3, 2), [
        ("acknowledged", date(2024, 3, 2), date(2024, 3, 2)), ("referred", date(2024, 3, 3), date(2024, 3, 3)),
        ("accepted", date(2024, 3, 5), date(2024, 3, 5)), ("following_up", date(2024, 3, 9), date(2024, 3, 9)),
        ("closed", date(2024, 3, 20), date(2024, 3, 20))])
    await _case(reports, child, TOWNSHIP_A, date(2024, 3, 10), [
        ("acknowledged", date(2024, 3, 10), date(2024, 3, 10)), ("referred", date(2024, 3, 11), date(2024, 3, 11))])
    await _case(reports, child, TOWNSHIP_A, date(2024, 3, 28), [])
    # Closed on 30 March but recorded in April: referred as known on 31 March.
    await _case(reports, child, TOWNSHIP_B, date(2024, 3, 12), [
        ("acknowledged", date(2024, 3, 12), date(2024, 3, 12)), ("referred", date(2024, 3, 13), date(2024, 3, 13)),
        ("closed", date(2024, 3, 30), date(2024, 4, 2))])
    # Raised in April: not in March's cases.
    await _case(reports, child, TOWNSHIP_A, date(2024, 4, 3), [])

    await reports.deliver(ActivityHeld(activity_id=uuid.uuid4(), activity_type="safety_education",
                                       held_on=date(2024, 3, 4), jurisdiction=place(TOWNSHIP_A),
                                       registered_children=56, other_children=12, family_members=3),
                          at(date(2024, 3, 4)))
    await reports.deliver(ActivityHeld(activity_id=uuid.uuid4(), activity_type="safety_education",
                                       held_on=date(2024, 3, 18), jurisdiction=place(TOWNSHIP_A),
                                       registered_children=40), at(date(2024, 3, 18)))

    await _duty(reports, child, "plan_review", date(2024, 3, 15), date(2024, 3, 14))
    await _duty(reports, child, "plan_review", date(2024, 3, 25), date(2024, 3, 27))
    await _duty(reports, child, "plan_review", date(2024, 3, 29), None)
    await _duty(reports, child, "follow_up", date(2024, 3, 20), date(2024, 3, 20))

    march = await reports.summary(**MARCH)
    assert march.status_code == 200, march.text
    body = march.json()
    assert body["cases_by_state"] == {"closed": 1, "raised": 1, "referred": 2}
    assert body["activity_attendance_by_type"] == {"safety_education": 56 + 12 + 3 + 40}
    assert body["duties_by_kind"] == {
        "follow_up": {"due": 1, "on_time": 1, "late": 0, "overdue": 0},
        "plan_review": {"due": 3, "on_time": 1, "late": 1, "overdue": 1}}

    later = (await reports.summary(**{**MARCH, "as_of": "2024-04-30"})).json()
    assert later["cases_by_state"] == {"closed": 2, "raised": 1, "referred": 1}
    township_b = (await reports.summary(headers=staff(TOWNSHIP_B, "township_staff"),
                                        **{**MARCH, "as_of": "2024-04-30"})).json()
    assert township_b["cases_by_state"] == {"closed": 1} and township_b["duties_by_kind"] == {}

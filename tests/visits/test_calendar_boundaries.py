"""The schedule on the days a calendar turns: a month end, 1 February and 1 September (term
boundaries), New Year's Eve and Day, 29 February, and just after the county's midnight, when
the UTC date is still yesterday. Each test sets the clock (shared/clock.py); the app, the
handlers and the scans read the same one."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from tests.visits.harness import Harness, caregiver

pytestmark = pytest.mark.clock

SHANGHAI = timezone(timedelta(hours=8))
BOUNDARIES = [
    datetime(2027, 1, 31, 12, 0, tzinfo=SHANGHAI),   # a month end
    datetime(2027, 2, 1, 9, 0, tzinfo=SHANGHAI),     # spring term not begun; 1 February
    datetime(2027, 9, 1, 9, 0, tzinfo=SHANGHAI),     # autumn term begins
    datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI),  # New Year's Eve, late
    datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI),    # New Year's Day in the county, 31 Dec in UTC
    datetime(2028, 2, 29, 12, 0, tzinfo=SHANGHAI),   # a leap day
    datetime(2028, 3, 1, 0, 10, tzinfo=SHANGHAI),    # the day after it, 29 Feb in UTC
]


@pytest.fixture
def at(harness: Harness, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    harness.settings.clock_now = request.param
    yield request.param
    harness.settings.clock_now = None


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


@pytest.mark.parametrize("at", BOUNDARIES, indirect=True, ids=lambda moment: moment.isoformat())
async def test_a_pairing_made_on_a_boundary_owes_whole_months_and_is_late_only_after_them(
        harness: Harness, at: datetime) -> None:
    today = at.date()  # the county's date, whatever the UTC one is
    assert harness.settings.clock.today() == today
    child_id = await harness.child()
    pairing_id, caregiver_id = await harness.pair(child_id, started_on=today)

    visits = await harness.fetch("SELECT * FROM duties WHERE pairing_id = $1 AND duty_kind = 'home_visit'"
                                 " AND status = 'open' ORDER BY due_on", pairing_id)
    assert visits, "a pairing owes home visits from the day it starts"
    for duty in visits:
        assert duty["period_start"].day == 1 and duty["due_on"] == _month_end(duty["period_start"])
        assert duty["due_on"] >= today, "nothing is owed from before the pairing began"
    # This month counts when at least half of it remains (a pairing made on the 31st owes
    # next month's visit, not this one by midnight).
    first = visits[0]
    remaining = (_month_end(today) - today).days + 1
    this_month_owed = remaining * 2 >= _month_end(today).day
    assert (first["period_start"] == today.replace(day=1)) is this_month_owed

    # A visit logged now (the clock's now; not "in the future" on a clock a year ahead)
    # fulfils the window containing the county's today, if that window is owed.
    response = await harness.client.post("/v1/contacts", headers=caregiver(caregiver_id), json={
        "child_id": str(child_id), "caregiver_id": str(caregiver_id), "kind": "home_visit",
        "occurred_at": harness.settings.clock.now().isoformat()})
    assert response.status_code == 201, response.text
    status = await harness.fetchval("SELECT status FROM duties WHERE id = $1", first["id"])
    assert status == ("fulfilled" if this_month_owed else "open")

    await harness.scan(today)
    assert await harness.events("ContactOverdue", child_id=child_id) == []
    late = visits[1] if this_month_owed else first
    await harness.scan(late["due_on"] + timedelta(days=1))
    [overdue] = await harness.events("ContactOverdue", duty_id=late["id"])
    assert overdue.escalation_level == "caregiver" and overdue.days_overdue == 1


@pytest.mark.parametrize("at", [datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI)], indirect=True,
                         ids=["new-year-0030-shanghai"])
async def test_a_contact_just_after_the_countys_midnight_counts_for_the_new_month(
        harness: Harness, at: datetime) -> None:
    """At 00:30 on 1 January in the county it is still 31 December in UTC: the contact
    belongs to January's window, and a December duty is not fulfilled by it."""
    child_id = await harness.child()
    pairing_id, caregiver_id = await harness.pair(child_id, started_on=date(2026, 12, 1))
    response = await harness.client.post("/v1/contacts", headers=caregiver(caregiver_id), json={
        "child_id": str(child_id), "caregiver_id": str(caregiver_id), "kind": "talk",
        "occurred_at": at.astimezone(timezone.utc).isoformat()})
    assert response.status_code == 201, response.text
    talks = {row["period_start"]: row["status"] for row in await harness.fetch(
        "SELECT period_start, status FROM duties WHERE pairing_id = $1 AND duty_kind = 'talk'", pairing_id)}
    assert talks[date(2027, 1, 1)] == "fulfilled"
    assert talks[date(2026, 12, 1)] == "open"
    assert uuid.UUID(response.json()["id"])


@pytest.mark.parametrize("at", [datetime(2027, 3, 1, 9, 0, tzinfo=SHANGHAI)], indirect=True,
                         ids=["monday-the-first"])
async def test_on_a_monday_the_first_a_changed_period_owes_the_new_window(harness: Harness, at: datetime) -> None:
    """1 March 2027 is a Monday: this week's window and this month's begin the same day. A
    child made a priority owes this week's talk, not the month's (which is cancelled), and back
    again; the duty reopened with another due date is reminded before that date."""
    child_id = await harness.child()
    pairing_id, _ = await harness.pair(child_id, started_on=at.date())

    async def open_talks() -> set[tuple[date, date]]:
        return {(row["period_start"], row["due_on"]) for row in await harness.fetch(
            "SELECT period_start, due_on FROM duties WHERE pairing_id = $1 AND duty_kind = 'talk'"
            " AND status = 'open'", pairing_id)}

    assert (date(2027, 3, 1), date(2027, 3, 31)) in await open_talks()
    [month] = await harness.fetch("SELECT id FROM duties WHERE pairing_id = $1 AND duty_kind = 'talk'"
                                  " AND period_start = $2", pairing_id, date(2027, 3, 1))

    await harness.update_child(child_id, 2, priority=True)
    assert await open_talks() == {(date(2027, 3, 1), date(2027, 3, 7)), (date(2027, 3, 8), date(2027, 3, 14))}
    [cancelled] = await harness.events("DutyCancelled", duty_id=month["id"])
    assert cancelled.due_on == date(2027, 3, 31)
    assert [e.due_on for e in await harness.events("DutyScheduled", duty_id=month["id"])] == [
        date(2027, 3, 31), date(2027, 3, 7)]

    await harness.scan(date(2027, 3, 5))  # the week's talk is due in two days: reminded
    assert [e.due_on for e in await harness.events("DutyDueSoon", duty_id=month["id"])] == [date(2027, 3, 7)]
    await harness.update_child(child_id, 3, priority=False)
    assert await open_talks() == {(date(2027, 3, 1), date(2027, 3, 31)), (date(2027, 4, 1), date(2027, 4, 30))}
    await harness.scan(date(2027, 3, 29))  # the month's talk again: reminded again before its own date
    assert [e.due_on for e in await harness.events("DutyDueSoon", duty_id=month["id"])] == [
        date(2027, 3, 7), date(2027, 3, 31)]

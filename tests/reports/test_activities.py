"""Group activities in the work summary: ActivityHeld (each delivered twice) counted once,
by township and by type, as known on the as-of date, within the caller's scope."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from shared.contracts import ActivityHeld, ChildRegistered
from tests.reports.harness import TOWNSHIP_A, TOWNSHIP_B, Harness, at, place, staff


def _activity(kind: str, held_on: date, township: str, registered: int, **counts: Any) -> ActivityHeld:
    return ActivityHeld(activity_id=uuid.uuid4(), activity_type=kind, held_on=held_on, jurisdiction=place(township),
                        registered_children=registered, **counts)


async def test_activities_held_are_counted_by_township_and_type(reports: Harness) -> None:
    await reports.deliver(ChildRegistered(child_id=uuid.uuid4(), jurisdiction=place(TOWNSHIP_A), record_version=1),
                          at(date(2024, 1, 5)))
    lecture = _activity("safety_education", date(2024, 3, 4), TOWNSHIP_A, 56, other_children=4, others=2)
    await reports.deliver(lecture, at(date(2024, 3, 4)))
    await reports.deliver(_activity("guardian_school", date(2024, 3, 9), TOWNSHIP_A, 0, family_members=31),
                          at(date(2024, 3, 9)))
    await reports.deliver(_activity("home_activity", date(2024, 3, 13), TOWNSHIP_B, 12), at(date(2024, 3, 13)))
    # Held in March, recorded in April: not known on 31 March.
    await reports.deliver(_activity("summer_camp", date(2024, 3, 30), TOWNSHIP_B, 300), at(date(2024, 4, 2)))
    await reports.deliver(_activity("safety_education", date(2024, 2, 20), TOWNSHIP_A, 10), at(date(2024, 2, 20)))
    assert await reports.fetchval("SELECT count(*) FROM activities") == 5

    march = await reports.summary(**{"from": "2024-03-01", "to": "2024-03-31", "as_of": "2024-03-31"})
    assert march.status_code == 200, march.text
    body = march.json()
    values = {f["key"]: (f["value"], f["previous"]) for f in body["figures"]}
    assert values["activities_held"] == (3, 1)
    assert values["activity_attendance"] == (56 + 4 + 2 + 31 + 12, 10)
    assert body["activities_by_type"] == {"guardian_school": 1, "home_activity": 1, "safety_education": 1}
    by_township = {row["township_code"]: row["figures"]["activities_held"] for row in body["by_township"]}
    assert by_township[TOWNSHIP_A] == 2 and by_township[TOWNSHIP_B] == 1

    later = (await reports.summary(**{"from": "2024-03-01", "to": "2024-03-31", "as_of": "2024-04-30"})).json()
    assert later["activities_by_type"]["summer_camp"] == 1
    township_b = (await reports.summary(headers=staff(TOWNSHIP_B, "township_staff"),
                                        **{"from": "2024-03-01", "to": "2024-03-31", "as_of": "2024-04-30"})).json()
    assert township_b["activities_by_type"] == {"home_activity": 1, "summer_camp": 1}

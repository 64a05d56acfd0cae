"""Notes to families in the work summary (家书短信): notify's FamilyNoteSent (each delivered
twice) counted once, by the day it went out in the county, by township, within the scope."""

from __future__ import annotations

import uuid
from datetime import date

from shared.contracts import ChildRegistered, FamilyNoteSent
from tests.reports.harness import TOWNSHIP_A, TOWNSHIP_B, Harness, at, place, staff


def _note(child_id: uuid.UUID, township: str, day: date, kind: str = "parent") -> FamilyNoteSent:
    return FamilyNoteSent(letter_id=uuid.uuid4(), notification_id=uuid.uuid4(), child_id=child_id,
                          caregiver_id=uuid.uuid4(), member_kind=kind, jurisdiction=place(township),
                          sent_at=at(day, 8))


async def test_family_notes_sent_are_a_figure_of_the_work_summary(reports: Harness) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    for kid, township in ((first, TOWNSHIP_A), (second, TOWNSHIP_B)):
        await reports.deliver(ChildRegistered(child_id=kid, jurisdiction=place(township), record_version=1),
                              at(date(2024, 1, 5)))
    for note in (_note(first, TOWNSHIP_A, date(2024, 3, 2)), _note(first, TOWNSHIP_A, date(2024, 3, 28), "guardian"),
                 _note(second, TOWNSHIP_B, date(2024, 3, 15)), _note(second, TOWNSHIP_B, date(2024, 2, 10)),
                 _note(first, TOWNSHIP_A, date(2024, 4, 1))):
        await reports.deliver(note, at(note.sent_at.date()))
    assert await reports.fetchval("SELECT count(*) FROM family_notes_sent") == 5

    march = await reports.summary(**{"from": "2024-03-01", "to": "2024-03-31", "as_of": "2024-04-30"})
    assert march.status_code == 200, march.text
    body = march.json()
    [figure] = [f for f in body["figures"] if f["key"] == "family_notes"]
    assert (figure["label"], figure["value"], figure["previous"]) == ("家书短信", 3, 1)
    by_township = {row["township_code"]: row["figures"]["family_notes"] for row in body["by_township"]}
    assert by_township[TOWNSHIP_A] == 2 and by_township[TOWNSHIP_B] == 1
    township_b = (await reports.summary(headers=staff(TOWNSHIP_B, "township_staff"),
                                        **{"from": "2024-03-01", "to": "2024-03-31", "as_of": "2024-04-30"})).json()
    assert [f["value"] for f in township_b["figures"] if f["key"] == "family_notes"] == [1]

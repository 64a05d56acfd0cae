"""Aid by programme in the work summary: pairing's SupportRecorded with a programme id
(each delivered twice) counted once per record, children once, within the caller's scope and
as known on the as-of date; aid outside any programme is not listed there. Each programme is
named by the latest name its events carried as known on the as-of date (none for events from
before SupportRecorded carried it)."""

from __future__ import annotations

import uuid
from datetime import date

from shared.contracts import ChildRegistered, SupportRecorded
from tests.reports.harness import TOWNSHIP_A, TOWNSHIP_B, Harness, at, place, staff


def _aid(child: uuid.UUID, programme: uuid.UUID | None, fen: int, day: date, township: str,
         name: str | None = None) -> SupportRecorded:
    return SupportRecorded(child_id=child, support_id=uuid.uuid4(), kind="in_kind", amount_fen=fen, given_on=day,
                           jurisdiction=place(township), programme_id=programme, programme_name=name)


async def test_aid_is_summed_by_programme(reports: Harness) -> None:
    await reports.deliver(ChildRegistered(child_id=uuid.uuid4(), jurisdiction=place(TOWNSHIP_A), record_version=1),
                          at(date(2024, 1, 5)))
    bags, grants = uuid.uuid4(), uuid.uuid4()
    children = [uuid.uuid4() for _ in range(5)]
    for child in children[:4]:
        await reports.deliver(_aid(child, bags, 8000, date(2024, 3, 4), TOWNSHIP_A, "春季书包发放"),
                              at(date(2024, 3, 4)))
    await reports.deliver(_aid(children[4], bags, 8000, date(2024, 3, 5), TOWNSHIP_B, "春季书包发放"),
                          at(date(2024, 3, 5)))
    await reports.deliver(_aid(children[0], grants, 50000, date(2024, 3, 6), TOWNSHIP_A), at(date(2024, 3, 6)))
    await reports.deliver(_aid(children[1], None, 10000, date(2024, 3, 6), TOWNSHIP_A), at(date(2024, 3, 6)))
    # Given in March, recorded in April: not known on 31 March; by then the grants had a name.
    await reports.deliver(_aid(children[2], grants, 50000, date(2024, 3, 30), TOWNSHIP_A, "助学金"),
                          at(date(2024, 4, 2)))
    # The bags' programme renamed in May: the name of a later period's aid.
    await reports.deliver(_aid(children[3], bags, 8000, date(2024, 5, 6), TOWNSHIP_A, "书包发放（更名）"),
                          at(date(2024, 5, 6)))

    march = await reports.summary(**{"from": "2024-03-01", "to": "2024-03-31", "as_of": "2024-03-31"})
    assert march.status_code == 200, march.text
    assert march.json()["aid_by_programme"] == [
        {"programme_id": str(bags), "programme_name": "春季书包发放", "children": 5, "records": 5, "amount_fen": 40000},
        {"programme_id": str(grants), "programme_name": None, "children": 1, "records": 1, "amount_fen": 50000}]
    later = (await reports.summary(**{"from": "2024-03-01", "to": "2024-03-31", "as_of": "2024-04-30"})).json()
    assert [(a["programme_name"], a["children"], a["amount_fen"]) for a in later["aid_by_programme"]] == [
        ("春季书包发放", 5, 40000), ("助学金", 2, 100000)]
    renamed = (await reports.summary(**{"from": "2024-03-01", "to": "2024-03-31", "as_of": "2024-05-31"})).json()
    assert [a["programme_name"] for a in renamed["aid_by_programme"]] == ["书包发放（更名）", "助学金"]
    township_b = (await reports.summary(headers=staff(TOWNSHIP_B, "township_staff"),
                                        **{"from": "2024-03-01", "to": "2024-03-31", "as_of": "2024-04-30"})).json()
    assert township_b["aid_by_programme"] == [
        {"programme_id": str(bags), "programme_name": "春季书包发放", "children": 1, "records": 1, "amount_fen": 8000}]

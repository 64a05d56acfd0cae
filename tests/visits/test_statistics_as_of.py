"""Visits' figures for a period and as of a past day. The clock (the api's and the events'
times) is set to several days in turn: children arrive, pairings start and end, contacts
meet duties. The duties due, done and overdue, and the coverage, as of each past day are
compared with a replay of the same story kept by the test (the duty windows are read from
the database; whether and when each was met or stopped being owed comes from the story).
A school's staff see their school's figures; days without figures are refused (422)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import AsyncIterator

import pytest
import pytest_asyncio

from tests.support.auth import TOWNSHIP, bearer
from tests.visits.harness import Harness, caregiver, county_staff, open_harness

pytestmark = pytest.mark.clock

SHANGHAI = timezone(timedelta(hours=8))
DAY1, ENDED, TODAY = date(2026, 3, 2), date(2026, 4, 20), date(2026, 5, 10)


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(infra) -> AsyncIterator[Harness]:
    async for opened in open_harness(infra):
        yield opened


@pytest.fixture
def at(fresh: Harness, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def move(day: date, hour: int = 10) -> None:
        moment = datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)
        fresh.settings.clock_now = moment
        monkeypatch.setenv("SHOUHU_CLOCK_NOW", moment.isoformat())  # the events' times
    yield move
    fresh.settings.clock_now = None


def instant(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).isoformat()


@dataclass
class Duty:
    child: uuid.UUID
    school: str
    kind: str
    start: date
    due: date
    done_on: date | None
    stopped_on: date | None

    def owed(self, day: date) -> bool:
        return self.stopped_on is None or self.stopped_on > day

    def done(self, day: date) -> bool:
        return self.done_on is not None and self.done_on <= day


def expected(duties: list[Duty], day: date, first_due: date, last_due: date, school: str | None = None) -> dict:
    mine = [d for d in duties if d.owed(day) and (school is None or d.school == school)]
    period = [d for d in mine if first_due <= d.due <= last_due]
    return {"due": len(period), "done": sum(d.done(day) for d in period),
            "overdue": sum(d.due < day and not d.done(day) for d in period),
            "overdue_total": sum(d.due < day and not d.done(day) for d in mine)}


async def test_duties_and_coverage_for_a_period_as_of_past_days(fresh: Harness, at) -> None:  # type: ignore[no-untyped-def]
    at(DAY1)
    a = await fresh.child(school_id="school-1")
    b = await fresh.child(school_id="school-2")
    _, cg_a = await fresh.pair(a, started_on=DAY1)
    pairing_b, cg_b = await fresh.pair(b, started_on=DAY1)
    visits: list[tuple[uuid.UUID, date]] = []
    for day in (date(2026, 3, 15), date(2026, 4, 10)):
        at(day, hour=18)
        response = await fresh.client.post("/v1/contacts", headers=caregiver(cg_a), json={
            "id": str(uuid.uuid4()), "child_id": str(a), "caregiver_id": str(cg_a), "kind": "home_visit",
            "occurred_at": datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI).isoformat()})
        assert response.status_code == 201, response.text
        visits.append((a, day))
    at(ENDED)
    await fresh.end_pairing(b, pairing_b, cg_b, ended_on=ENDED)
    at(date(2026, 5, 5))
    await fresh.child(school_id="school-1")

    schools = {a: "school-1", b: "school-2"}
    duties = []
    for row in await fresh.fetch("SELECT * FROM duties"):
        met = [day for child, day in visits if child == row["child_id"] and row["duty_kind"] == "home_visit"
               and row["period_start"] <= day <= row["due_on"]]
        stopped = ENDED if row["child_id"] == b and row["due_on"] > ENDED else None
        duties.append(Duty(row["child_id"], schools[row["child_id"]], row["duty_kind"], row["period_start"],
                           row["due_on"], min(met, default=None), stopped))
    assert any(d.done_on for d in duties) and any(d.stopped_on for d in duties)

    at(TODAY)
    march = (date(2026, 3, 1), date(2026, 3, 31))
    april = (date(2026, 4, 1), date(2026, 4, 30))
    principal = bearer(roles=["school_staff"], jurisdiction=TOWNSHIP, school_id="school-1")
    for (first_due, last_due), day in ((march, date(2026, 3, 14)), (march, date(2026, 3, 31)),
                                       (march, date(2026, 4, 15)), (april, date(2026, 4, 19)),
                                       (april, date(2026, 4, 30)), (april, TODAY)):
        period = {"from": instant(first_due), "to": instant(last_due + timedelta(days=1)), "as_of": day.isoformat()}
        for headers, school in ((county_staff(), None), (principal, "school-1")):
            response = await fresh.client.get("/v1/statistics", params=period, headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            want = expected(duties, day, first_due, last_due, school)
            assert body["as_of"] == day.isoformat()
            assert body["duties"] == {k: want[k] for k in ("due", "done", "overdue")}, (day, school)
            assert body["overdue_total"] == want["overdue_total"], (day, school)

    # Coverage over the period asked for, of the children active as of its last day.
    march_figures = (await fresh.client.get("/v1/statistics", headers=county_staff(), params={
        "from": instant(date(2026, 3, 1)), "to": instant(date(2026, 4, 1)), "as_of": "2026-03-31"})).json()
    assert (march_figures["coverage"]["active_children"], march_figures["coverage"]["seen"]) == (2, 1)
    may = (await fresh.client.get("/v1/statistics", headers=county_staff(), params={
        "from": instant(date(2026, 5, 1)), "to": instant(date(2026, 5, 6)), "as_of": "2026-05-05"})).json()
    assert (may["coverage"]["active_children"], may["coverage"]["seen"]) == (3, 0)
    before_c = (await fresh.client.get("/v1/statistics", headers=county_staff(),
                                       params={"as_of": "2026-05-04"})).json()
    # No period: the 30 days up to the end of as_of (5 April – 4 May), which saw the 10 April visit.
    assert (before_c["coverage"]["active_children"], before_c["coverage"]["seen"]) == (2, 1)

    for params, field, reason in (({"as_of": (DAY1 - timedelta(days=1)).isoformat()}, "query.as_of",
                                   "before the records began"),
                                  ({"as_of": (TODAY + timedelta(days=1)).isoformat()}, "query.as_of", "in the future"),
                                  ({"from": instant(TODAY + timedelta(days=1))}, "query.from", "in the future"),
                                  ({"from": instant(date(2026, 2, 1)), "to": instant(date(2026, 3, 1))}, "query.to",
                                   "before the records began")):
        refused = await fresh.client.get("/v1/statistics", params=params, headers=county_staff())
        assert refused.status_code == 422, (params, refused.text)
        error = refused.json()["errors"][0]
        assert error["field"] == field and reason in error["reason"], error

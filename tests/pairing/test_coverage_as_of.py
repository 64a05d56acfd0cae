"""帮扶覆盖面 as of a past day. The clock (the api's and the events' times) is set to several
days in turn; children arrive, close, are paired and unpaired on them; the coverage as of each
past day is compared with a plain replay of the same story. A school's staff see their
school's; a day before the first child or after today is refused (422)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import AsyncIterator

import pytest
import pytest_asyncio

from shared.contracts import ChildRegistered
from tests.pairing.harness import Harness, Place, closed, staff, start_harness

pytestmark = pytest.mark.clock

SHANGHAI = timezone(timedelta(hours=8))
DAY1, DAY2, DAY3, TODAY = date(2026, 5, 4), date(2026, 5, 12), date(2026, 5, 25), date(2026, 6, 1)


@pytest_asyncio.fixture(loop_scope="session")
async def pairing(infra) -> AsyncIterator[Harness]:
    async for harness in start_harness(infra):
        yield harness


@pytest.fixture
def at(pairing: Harness, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def move(day: date, hour: int = 10) -> None:
        moment = datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)
        pairing.settings.clock_now = moment
        monkeypatch.setenv("SHOUHU_CLOCK_NOW", moment.isoformat())  # the events' times
    yield move
    pairing.settings.clock_now = None


def replay(children: dict, versions: list, pairings: list, day: date, school: str | None = None) -> dict:
    """The coverage figures from the story alone."""
    status = {}
    for on, child, state in versions:
        if on <= day:
            status[child] = state
    active = [c for c, s in status.items() if s == "active" and (school is None or children[c][0] == school)]
    paired = {c for c, start, end in pairings if start <= day and (end is None or end > day)}
    return {"active_children": len(active), "paired": len([c for c in active if c in paired]),
            "priority_active": len([c for c in active if children[c][1]]),
            "priority_paired": len([c for c in active if children[c][1] and c in paired])}


async def test_coverage_as_of_past_days_and_for_a_school(pairing: Harness, at) -> None:  # type: ignore[no-untyped-def]
    place = Place.fresh()
    children: dict[uuid.UUID, tuple[str, bool]] = {}
    versions: list = []
    pairings: list = []

    async def child(day: date, school: str, priority: bool = False) -> uuid.UUID:
        at(day)
        child_id = uuid.uuid4()
        await pairing.deliver(ChildRegistered(child_id=child_id, jurisdiction=place.jurisdiction(), school_id=school,
                                              priority=priority, age_band="6-11", record_version=1))
        children[child_id] = (school, priority)
        versions.append((day, child_id, "active"))
        return child_id

    async def pair(day: date, child_id: uuid.UUID, caregiver: str) -> str:
        at(day)
        response = await pairing.client.post("/v1/pairings", headers=staff(), json={
            "child_id": str(child_id), "caregiver_id": caregiver, "role": "lead", "started_on": day.isoformat()})
        assert response.status_code == 201, response.text
        pairings.append([child_id, day, None])
        return response.json()["id"]

    a = await child(DAY1, "s1", priority=True)
    b = await child(DAY1, "s1")
    c = await child(DAY1, "s2", priority=True)
    teacher = (await pairing.caregiver(place, school_id="s1", capacity=5))["id"]
    other = (await pairing.caregiver(place, school_id="s2", capacity=5))["id"]
    first = await pair(DAY1, a, teacher)
    await pair(DAY2, b, teacher)
    await pair(DAY2, c, other)
    at(DAY2, hour=16)
    await pairing.deliver(closed(c, place, 2))
    versions.append((DAY2, c, "closed"))
    pairings[-1][2] = DAY2  # a closed child's pairings end that day
    at(DAY3)
    ended = await pairing.client.post(f"/v1/pairings/{first}/end", headers=staff(),
                                      json={"reason": "reassigned", "ended_on": DAY3.isoformat()})
    assert ended.status_code == 200, ended.text
    pairings[0][2] = DAY3
    await child(DAY3, "s2")

    at(TODAY)
    for day in (DAY1, DAY2 - timedelta(days=1), DAY2, DAY3 - timedelta(days=1), DAY3, TODAY):
        response = await pairing.client.get("/v1/statistics/coverage", headers=staff(),
                                            params={"jurisdiction": place.township, "as_of": day.isoformat()})
        assert response.status_code == 200, response.text
        body = response.json()
        expected = replay(children, versions, pairings, day)
        assert body["as_of"] == day.isoformat()
        assert {k: body["total"][k] for k in expected} == expected, day
        school = next((s for s in body["by_school"] if s["school_id"] == "s1"), None)
        expected_s1 = replay(children, versions, pairings, day, school="s1")
        assert {k: school[k] for k in expected_s1} == expected_s1, day

        principal = staff(place.township, roles=["school_staff"], school_id="s1")
        mine = (await pairing.client.get("/v1/statistics/coverage", headers=principal,
                                         params={"as_of": day.isoformat()})).json()
        assert {k: mine["total"][k] for k in expected_s1} == expected_s1, day
        assert [s["school_id"] for s in mine["by_school"]] == ["s1"]

    for day, reason in ((DAY1 - timedelta(days=1), "before the records began"),
                        (TODAY + timedelta(days=1), "in the future")):
        refused = await pairing.client.get("/v1/statistics/coverage", headers=staff(),
                                           params={"as_of": day.isoformat()})
        assert refused.status_code == 422, refused.text
        error = refused.json()["errors"][0]
        assert error["field"] == "query.as_of" and reason in error["reason"]

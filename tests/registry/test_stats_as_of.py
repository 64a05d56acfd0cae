"""Statistics and 建档率 as of a past day: the clock is set to several days in turn, records
are registered, transferred, closed and reopened and expected counts changed on them, and
the figures as of each past day are compared with what a plain replay of the same story
computes. A day before the first record or after today is refused, never answered with
today's figures."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import AsyncIterator

import pytest
import pytest_asyncio

from tests.registry.helpers import Registry, child_body, running_registry, staff_headers
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer

pytestmark = pytest.mark.clock

SHANGHAI = timezone(timedelta(hours=8))
T2, V2 = "330102003000", "330102003050"
DAY1, DAY2, DAY3, TODAY = date(2026, 3, 2), date(2026, 3, 10), date(2026, 3, 20), date(2026, 4, 1)


@pytest_asyncio.fixture(loop_scope="session")
async def registry(infra) -> AsyncIterator[Registry]:
    async with running_registry(infra) as running:
        yield running
        running.settings.clock_now = None


class Story:
    """What happened, kept apart from the service: (day, child, township, school, categories,
    status); the expected figures are a replay of it."""

    def __init__(self) -> None:
        self.versions: list[tuple[date, str, str, str, tuple[str, ...], str]] = []
        self.expected: list[tuple[date, str, int]] = []

    def state_on(self, day: date) -> dict[str, tuple[str, str, tuple[str, ...], str]]:
        state: dict[str, tuple[str, str, tuple[str, ...], str]] = {}
        for on, child, township, school, categories, status in self.versions:
            if on <= day:
                state[child] = (township, school, categories, status)
        return state

    def figures_on(self, day: date) -> tuple[int, Counter[str], Counter[str]]:
        current = [v for v in self.state_on(day).values() if v[3] in ("active", "transferred")]
        by_township = Counter(v[0] for v in current)
        by_category = Counter(c for v in current for c in v[2])
        return len(current), by_township, by_category

    def expected_on(self, day: date) -> dict[str, int]:
        return {code: n for on, code, n in sorted(self.expected) if on <= day}


async def _at(registry: Registry, day: date, hour: int = 10) -> None:
    registry.settings.clock_now = datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


async def test_counts_and_registration_rate_as_of_past_days(registry: Registry) -> None:
    story = Story()
    client, staff = registry.client, staff_headers()

    async def register(day: date, name: str, categories: list[str], township: str = TOWNSHIP,
                       village: str = VILLAGE, school: str = "school-1") -> str:
        await _at(registry, day)
        body = child_body(name=name, categories=categories, school_id=school,
                          jurisdiction={"county_code": COUNTY, "township_code": township, "village_code": village})
        response = await client.post("/v1/children", json=body, headers=staff)
        assert response.status_code == 201, response.text
        story.versions.append((day, name, township, school, tuple(categories), "active"))
        return response.json()["id"]

    async def expect(day: date, code: str, n: int) -> None:
        await _at(registry, day)
        response = await client.put("/v1/expected-counts", headers=staff,
                                    json={"kind": "township", "code": code, "township_code": code, "expected": n})
        assert response.status_code == 200, response.text
        story.expected.append((day, code, n))

    wang = await register(DAY1, "王小明", ["left_behind"])
    li = await register(DAY1, "李红", ["migrant", "left_behind"])
    await expect(DAY1, TOWNSHIP, 4)
    await register(DAY2, "张强", ["left_behind"], T2, V2, "school-3")
    await _at(registry, DAY2, hour=15)
    moved = await client.post(f"/v1/children/{wang}/transfer", headers=staff, json={
        "version": 1, "school_id": "school-3",
        "jurisdiction": {"county_code": COUNTY, "township_code": T2, "village_code": V2}})
    assert moved.status_code == 200, moved.text
    story.versions.append((DAY2, "王小明", T2, "school-3", ("left_behind",), "transferred"))
    closed = await client.post(f"/v1/children/{li}/close", headers=staff,
                               json={"version": 1, "reason": "parents_returned"})
    assert closed.status_code == 200, closed.text
    story.versions.append((DAY2, "李红", TOWNSHIP, "school-1", ("migrant", "left_behind"), "closed"))
    await expect(DAY2, T2, 5)
    await expect(DAY3, TOWNSHIP, 2)
    await _at(registry, DAY3, hour=11)
    reopened = await client.post(f"/v1/children/{li}/reopen", headers=staff, json={"version": 2})
    assert reopened.status_code == 200, reopened.text
    story.versions.append((DAY3, "李红", TOWNSHIP, "school-1", ("migrant", "left_behind"), "active"))
    await register(DAY3, "赵兰", ["migrant"])

    await _at(registry, TODAY)
    for day in (DAY1, DAY2 - timedelta(days=1), DAY2, DAY3 - timedelta(days=1), DAY3, TODAY):
        total, by_township, by_category = story.figures_on(day)
        stats = await client.get("/v1/statistics", params={"as_of": day.isoformat()}, headers=staff)
        assert stats.status_code == 200, stats.text
        figures = stats.json()
        assert figures["as_of"] == day.isoformat()
        assert figures["total"] == total, day
        assert {e["key"]: e["count"] for e in figures["township"]} == dict(by_township), day
        assert {e["key"]: e["count"] for e in figures["category"]} == dict(by_category), day

        report = (await client.get("/v1/statistics/completeness", params={"as_of": day.isoformat()},
                                   headers=staff)).json()
        expected = story.expected_on(day)
        assert {e["code"]: e["expected"] for e in report["townships"]} == expected, day
        assert {e["code"]: e["registered"] for e in report["townships"]} == {
            code: by_township.get(code, 0) for code in expected}, day
        assert report["rate"] == round(sum(by_township.get(c, 0) for c in expected) / sum(expected.values()), 4)

    # Today's figures without a date are the same as with today's date.
    now = (await client.get("/v1/statistics", headers=staff)).json()
    assert now["total"] == story.figures_on(TODAY)[0]


@pytest.mark.parametrize("day, reason", [(DAY1 - timedelta(days=1), "before the records began"),
                                         (TODAY + timedelta(days=1), "in the future")])
async def test_a_day_without_figures_is_refused_naming_the_field(registry: Registry, day: date, reason: str) -> None:
    await _at(registry, DAY1)
    assert (await registry.client.post("/v1/children", json=child_body(), headers=staff_headers())).status_code == 201
    await _at(registry, TODAY)
    for path in ("/v1/statistics", "/v1/statistics/completeness"):
        refused = await registry.client.get(path, params={"as_of": day.isoformat()}, headers=staff_headers())
        assert refused.status_code == 422, refused.text
        error = refused.json()["errors"][0]
        assert error["field"] == "query.as_of" and reason in error["reason"]


async def test_nothing_recorded_yet_has_no_past_figures(registry: Registry) -> None:
    await _at(registry, TODAY)
    refused = await registry.client.get("/v1/statistics", params={"as_of": DAY1.isoformat()}, headers=staff_headers())
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "query.as_of"


async def test_a_schools_staff_count_their_school_only(registry: Registry) -> None:
    await _at(registry, DAY1)
    for name, school in (("王小明", "school-1"), ("李红", "school-1"), ("张强", "school-2")):
        body = child_body(name=name, school_id=school)
        assert (await registry.client.post("/v1/children", json=body, headers=staff_headers())).status_code == 201
    for code, n in (("school-1", 4), ("school-2", 2)):
        assert (await registry.client.put("/v1/expected-counts", headers=staff_headers(), json={
            "kind": "school", "code": code, "township_code": TOWNSHIP, "expected": n})).status_code == 200
    await _at(registry, TODAY)
    principal = bearer(roles=["school_staff"], jurisdiction=TOWNSHIP, school_id="school-1")
    for params in ({}, {"as_of": DAY1.isoformat()}):
        stats = (await registry.client.get("/v1/statistics", params=params, headers=principal)).json()
        assert stats["total"] == 2 and [e["key"] for e in stats["school"]] == ["school-1"], params
        report = (await registry.client.get("/v1/statistics/completeness", params=params, headers=principal)).json()
        assert [(e["code"], e["registered"], e["rate"]) for e in report["schools"]] == [("school-1", 2, 0.5)]
        assert report["townships"] == []
    county = (await registry.client.get("/v1/statistics", headers=staff_headers())).json()
    assert county["total"] == 3

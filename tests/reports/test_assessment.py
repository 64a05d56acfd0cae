"""The assessment (考核) over the story's February as of 5 March: per school and per
caregiver, duties due, on time, late and overdue, coverage, a score with the county's
weights and a ranking; weights are the county's to set."""

from __future__ import annotations

from typing import Any

import pytest_asyncio

from tests.reports import story
from tests.reports.harness import COUNTY, TOWNSHIP_A, Harness, staff
from tests.support.auth import bearer

FEBRUARY = {"from": "2024-02-01", "to": "2024-02-29", "as_of": "2024-03-05"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def told(reports: Harness) -> dict:
    return await story.tell(reports)


async def _assess(reports: Harness, **params: Any) -> dict[str, Any]:
    response = await reports.client.get("/v1/assessment", params={**FEBRUARY, **params}, headers=staff())
    assert response.status_code == 200, response.text
    return response.json()


async def test_schools_ranked_by_the_default_weights(reports: Harness, told: dict) -> None:
    body = await _assess(reports, by="school")
    items = {item["key"]: item for item in body["items"]}
    assert {key: (i["duties_due"], i["done_on_time"], i["done_late"], i["overdue"]) for key, i in items.items()} == {
        "s-1": (3, 1, 1, 1), "s-2": (0, 0, 0, 0), "s-3": (0, 0, 0, 0)}
    assert {key: i["coverage"] for key, i in items.items()} == {"s-1": 0.5, "s-2": 0.0, "s-3": 1.0}
    # s-1: (50·1/3 + 10·1/3 + 20·(1 − 1/3) + 20·0.5) / 100
    assert [(i["key"], i["score"], i["rank"]) for i in body["items"]] == [
        ("s-3", 100.0, 1), ("s-1", 43.3, 2), ("s-2", 0.0, 3)]
    assert body["total"] == 3 and body["next_cursor"] is None
    first = await _assess(reports, by="school", limit=2)
    rest = await _assess(reports, by="school", limit=2, cursor=first["next_cursor"])
    # Ranks are over the whole scope, whichever page shows them.
    assert [i["rank"] for i in first["items"] + rest["items"]] == [1, 2, 3] and rest["next_cursor"] is None


async def test_caregivers_are_scored_on_their_duties_alone(reports: Harness, told: dict) -> None:
    body = await _assess(reports, by="caregiver")
    scores = {item["key"]: (item["score"], item["coverage"]) for item in body["items"]}
    assert scores == {str(told["g1"]): (62.5, None), str(told["g2"]): (0.0, None)}


async def test_the_county_sets_the_weights_and_the_score_follows(reports: Harness, told: dict) -> None:
    refused = await reports.client.put("/v1/assessment/weights", headers=staff(TOWNSHIP_A, "township_staff"), json={
        "scope_code": COUNTY, "on_time": 1, "late": 0, "overdue": 0, "coverage": 0})
    assert refused.status_code == 403
    invalid = await reports.client.put("/v1/assessment/weights", headers=staff(), json={
        "scope_code": COUNTY, "on_time": -1, "late": 0, "overdue": 0, "coverage": 0})
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "body.on_time"
    response = await reports.client.put("/v1/assessment/weights", headers=staff(), json={
        "scope_code": COUNTY, "on_time": 1, "late": 0, "overdue": 0, "coverage": 0})
    assert response.status_code == 200, response.text
    read = await reports.client.get("/v1/assessment/weights", headers=staff(TOWNSHIP_A, "township_staff"))
    assert read.json()["on_time"] == 1.0  # a township without its own weights uses its county's
    body = await _assess(reports, by="caregiver")
    assert {item["key"]: item["score"] for item in body["items"]} == {str(told["g1"]): 50.0, str(told["g2"]): 0.0}
    schools = {item["key"]: (item["score"], item["rank"]) for item in (await _assess(reports, by="school"))["items"]}
    assert schools["s-2"] == (None, None)  # nothing due and coverage not weighed: nothing to score


async def test_only_staff_see_the_assessment(reports: Harness, told: dict) -> None:
    response = await reports.client.get("/v1/assessment", params=FEBRUARY,
                                        headers=bearer(roles=["caregiver"], jurisdiction=TOWNSHIP_A, caregiver_id="c"))
    assert response.status_code == 403
    future = await reports.client.get("/v1/assessment", params={**FEBRUARY, "as_of": "2999-01-01"}, headers=staff())
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "query.as_of"

"""The work summary over the story's February (and January before it): every figure,
the previous period, as of a past date, by township, by scope; refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest_asyncio

from shared.clock import from_env
from tests.reports import story
from tests.reports.harness import TOWNSHIP_A, TOWNSHIP_B, Harness, staff
from tests.support.auth import bearer

FEBRUARY = {"from": "2024-02-01", "to": "2024-02-29"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def told(reports: Harness) -> Harness:
    await story.tell(reports)
    return reports


def _values(body: dict[str, Any], field: str = "value") -> dict[str, Any]:
    return {figure["key"]: figure[field] for figure in body["figures"]}


async def test_february_as_of_its_last_day(told: Harness) -> None:
    response = await told.summary(**FEBRUARY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == {"from": "2024-02-01", "to": "2024-02-29", "as_of": "2024-02-29"}
    assert body["previous_period"] == {"from": "2024-01-01", "to": "2024-01-31", "as_of": "2024-01-31"}
    values = _values(body)
    assert {key: values[key] for key in (
        "children_registered", "newly_registered", "closed", "expected", "registration_rate", "pairs_formed",
        "pairs_ended", "children_paired", "coverage", "priority_coverage")} == {
        "children_registered": 4, "newly_registered": 2, "closed": 1, "expected": 6, "registration_rate": 0.6667,
        "pairs_formed": 2, "pairs_ended": 1, "children_paired": 2, "coverage": 0.5, "priority_coverage": 0.0}
    assert {key: values[key] for key in ("home_visits", "talks", "parent_calls", "contacts_total",
                                         "children_contacted", "caregivers_taking_part")} == {
        "home_visits": 1, "talks": 1, "parent_calls": 1, "contacts_total": 3, "children_contacted": 2,
        "caregivers_taking_part": 2}
    # As of the 29th, the call met on 2 March is not known yet, and nothing is past due.
    assert {key: values[key] for key in ("duties_due", "duties_on_time", "duties_late", "duties_overdue")} == {
        "duties_due": 3, "duties_on_time": 1, "duties_late": 0, "duties_overdue": 0}
    assert (values["concerns_raised"], values["mandatory_reports"]) == (1, 1)
    previous = _values(body, "previous")
    assert (previous["children_registered"], previous["newly_registered"], previous["coverage"],
            previous["home_visits"]) == (3, 3, 0.3333, 1)
    changes = _values(body, "change")
    assert (changes["children_registered"], changes["coverage"]) == (1, 0.1667)
    assert all(figure["definition"] and figure["label"] for figure in body["figures"])
    by_township = {row["township_code"]: row["figures"] for row in body["by_township"]}
    assert {code: (f["children_registered"], f["expected"], f["children_paired"], f["contacts_total"])
            for code, f in by_township.items()} == {TOWNSHIP_A: (3, 4, 1, 2), TOWNSHIP_B: (1, 2, 1, 1)}


async def test_later_as_of_knows_the_late_call_and_the_missed_visit(told: Harness) -> None:
    values = _values((await told.summary(**FEBRUARY, as_of="2024-03-05")).json())
    assert {key: values[key] for key in ("duties_due", "duties_on_time", "duties_late", "duties_overdue")} == {
        "duties_due": 3, "duties_on_time": 1, "duties_late": 1, "duties_overdue": 1}
    assert values["on_time_rate"] == 0.3333


async def test_as_of_mid_month_is_the_state_then(told: Harness) -> None:
    values = _values((await told.summary(**FEBRUARY, as_of="2024-02-15")).json())
    # Child 3 was still on the register, child 5 still paired; the 14th's call is counted.
    assert (values["children_registered"], values["children_paired"], values["coverage"]) == (5, 3, 0.6)
    assert (values["closed"], values["pairs_ended"], values["contacts_total"]) == (0, 0, 3)


async def test_a_township_or_a_school_sees_its_own_figures(told: Harness) -> None:
    township = (await told.summary(**FEBRUARY, headers=staff(TOWNSHIP_A, "township_staff"))).json()
    assert _values(township)["children_registered"] == 3 and _values(township)["expected"] == 4
    assert [row["township_code"] for row in township["by_township"]] == [TOWNSHIP_A]
    school = _values((await told.summary(**FEBRUARY, scope="s-2")).json())
    assert (school["children_registered"], school["pairs_formed"], school["expected"]) == (1, 1, None)
    narrowed = _values((await told.summary(**FEBRUARY, scope=TOWNSHIP_B)).json())
    assert (narrowed["children_registered"], narrowed["concerns_raised"]) == (1, 1)


async def test_refusals_name_the_field_and_change_nothing(told: Harness) -> None:
    tomorrow = from_env().today() + timedelta(days=2)  # later than China's today, whatever the hour
    cases = [
        ({"from": "2023-11-01", "to": "2023-12-31"}, "query.to"),  # before the first recorded event
        ({**FEBRUARY, "as_of": tomorrow.isoformat()}, "query.as_of"),
        ({"from": "2024-02-10", "to": "2024-02-01"}, "query.to"),
        ({**FEBRUARY, "as_of": "2024-01-31"}, "query.as_of"),
        ({**FEBRUARY, "format": "odt"}, "query.format"),
        ({**FEBRUARY, "scope": "330102 001"}, "query.scope"),
    ]
    for params, field in cases:
        response = await told.summary(**params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["errors"][0]["field"] == field, params
    outside = await told.summary(**FEBRUARY, scope=TOWNSHIP_A, headers=staff(TOWNSHIP_B, "township_staff"))
    assert outside.status_code == 403
    caregiver = await told.summary(**FEBRUARY, headers=bearer(roles=["caregiver"], jurisdiction=TOWNSHIP_A,
                                                               caregiver_id="c"))
    assert caregiver.status_code == 403
    assert (await told.client.get("/v1/summary", params=FEBRUARY)).status_code == 401

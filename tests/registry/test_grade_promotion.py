"""The end-of-year grade promotion on real PostgreSQL: each open record moves up a grade
as a new version with its ChildUpdated event; last grades and closed records stay; the
same place twice in one school year is refused."""

from __future__ import annotations

import pytest

from tests.registry.helpers import birth_year, child_body, staff_headers
from tests.support.auth import TOWNSHIP

pytestmark = pytest.mark.clock


async def _child(registry, grade: str) -> dict:
    response = await registry.client.post("/v1/children", headers=staff_headers(),
                                          json=child_body(grade=grade, birth_date=f"{birth_year(10)}-02-02"))
    assert response.status_code == 201, response.text
    return response.json()


async def test_promotion_moves_open_records_up_one_grade_once_a_year(registry) -> None:
    third, first_middle, last, unknown, closed = [
        await _child(registry, grade) for grade in ("三年级", "初一", "初三", "特教班", "五年级")]
    shut = await registry.client.post(f"/v1/children/{closed['id']}/close", headers=staff_headers(),
                                      json={"version": 1, "reason": "moved_away"})
    assert shut.status_code == 200
    school = await registry.client.post("/v1/children/grade-promotion", json={"school_year": 2030},
                                        headers=staff_headers(role="school_staff"))
    assert school.status_code == 403

    url = "/v1/children/grade-promotion"
    promoted = await registry.client.post(url, json={"school_year": 2030, "township_code": TOWNSHIP},
                                          headers=staff_headers(TOWNSHIP, role="township_staff"))
    assert promoted.status_code == 200, promoted.text
    assert promoted.json() == {"promoted": 2, "leaving": 1}
    grades = {row["id"]: (row["grade"], row["version"]) for row in await registry.fetch(
        "SELECT id::text, grade, version FROM children")}
    assert grades[third["id"]] == ("四年级", 2) and grades[first_middle["id"]] == ("初二", 2)
    assert grades[last["id"]] == ("初三", 1) and grades[unknown["id"]] == ("特教班", 1)
    assert grades[closed["id"]] == ("五年级", 2), "closed: not promoted (version 2 is its close)"
    events = await registry.fetch("SELECT payload FROM outbox WHERE event_type = 'cn.shouhu.ChildUpdated.v1'")
    assert sorted((e["payload"]["child_id"], e["payload"]["record_version"]) for e in events) == sorted(
        [(third["id"], 2), (first_middle["id"], 2)])

    again = await registry.client.post(url, json={"school_year": 2030, "township_code": TOWNSHIP},
                                       headers=staff_headers())
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "body.school_year"
    assert (await registry.fetch("SELECT grade FROM children WHERE id::text = $1", third["id"]))[0]["grade"] == "四年级"

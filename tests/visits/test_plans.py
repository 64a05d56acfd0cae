"""A plan per child through the API: set by staff with an owner among the paired
caregivers, review dates that become the owner's duties (reminded before, escalated after,
by the scheduler's scan), progress notes, a review recorded, closure; seen by the paired
caregivers with its goals, by staff without them unless view_sensitive."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.auth import COUNTY, TOWNSHIP, bearer
from tests.visits.harness import ELSEWHERE, Harness, caregiver, county_staff, today, township_staff

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock

GOAL = "数学成绩提高到及格，每周两次作业辅导"


async def test_a_plan_is_reviewed_with_its_reminders_and_closed(harness: Harness) -> None:
    child_id = await harness.child()
    _, teacher = await harness.pair(child_id, started_on=today(harness.settings) - timedelta(days=3))
    _, mother = await harness.pair(child_id, role="helper", started_on=today(harness.settings) - timedelta(days=3))
    day = today(harness.settings)
    first, second = day + timedelta(days=10), day + timedelta(days=40)
    body = {"kind": "study", "title": "学习帮扶计划", "goals": [GOAL, "每周与妈妈视频一次"],
            "owner_caregiver_id": str(teacher), "review_dates": [str(second), str(first)]}
    staff = township_staff()

    for bad, field in ((dict(owner_caregiver_id=str(uuid.uuid4())), "body.owner_caregiver_id"),
                       (dict(review_dates=[str(day)]), "body.review_dates[0]"),
                       (dict(review_dates=[str(first), str(first)]), "body.review_dates[1]"),
                       (dict(goals=[]), "body.goals")):
        refused = await harness.client.post(f"/v1/children/{child_id}/plans", json={**body, **bad}, headers=staff)
        assert refused.status_code == 422 and field in {e["field"] for e in refused.json()["errors"]}, refused.text
    assert await harness.fetchval("SELECT count(*) FROM plans WHERE child_id = $1", child_id) == 0
    elsewhere = await harness.child(jurisdiction=ELSEWHERE)
    assert (await harness.client.post(f"/v1/children/{elsewhere}/plans", json=body, headers=staff)).status_code == 404

    created = await harness.client.post(f"/v1/children/{child_id}/plans", json=body, headers=staff)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert [r["due_on"] for r in plan["reviews"]] == [str(first), str(second)]
    stored = (await harness.fetch("SELECT goals_enc FROM plans WHERE id = $1", uuid.UUID(plan["id"])))[0]
    assert GOAL not in stored["goals_enc"]

    reviews = await harness.fetch("SELECT * FROM duties WHERE caregiver_id = $1 AND duty_kind = 'plan_review' "
                                  "ORDER BY due_on", teacher)
    assert [d["due_on"] for d in reviews] == [first, second]
    # The owner's work list names the plan each review is owed on (the app opens it from there).
    listed = (await harness.client.get("/v1/me/duties", headers=caregiver(teacher))).json()["items"]
    assert [(d["due_on"], d["plan_id"], d["contact_id"]) for d in listed if d["duty_kind"] == "plan_review"] == [
        (str(first), plan["id"], None), (str(second), plan["id"], None)]
    assert {d["plan_id"] for d in listed if d["duty_kind"] != "plan_review"} <= {None}
    scheduled = await harness.events("DutyScheduled", caregiver_id=teacher, duty_kind="plan_review")
    assert len(scheduled) == 2

    # The paired caregivers see it with its goals; staff without view_sensitive without them.
    by_mother = await harness.client.get(f"/v1/plans/{plan['id']}", headers=caregiver(mother))
    assert by_mother.status_code == 200 and by_mother.json()["goals"][0] == GOAL
    assert (await harness.client.get(f"/v1/plans/{plan['id']}", headers=staff)).json()["goals"] is None
    assert (await harness.client.get(f"/v1/plans/{plan['id']}", headers=caregiver(uuid.uuid4()))).status_code == 404
    mine = await harness.client.get("/v1/plans", headers=caregiver(mother))
    assert [p["id"] for p in mine.json()["items"]] == [plan["id"]] and mine.json()["next_cursor"] is None

    # The scheduler reminds the owner before the first review and escalates after it.
    await harness.scan(first - timedelta(days=2))
    assert [e.due_on for e in await harness.events("DutyDueSoon", caregiver_id=teacher, duty_kind="plan_review")
            ] == [first]
    await harness.scan(first + timedelta(days=1))
    [late] = await harness.events("ContactOverdue", caregiver_id=teacher, duty_kind="plan_review")
    assert late.due_on == first and late.escalation_level == "caregiver"

    # A policy change derives the pairing again: the plan's reviews stay owed.
    policy = await harness.client.put(f"/v1/admin/duty-policies/{COUNTY}/all/talk", json={"period": "weekly"},
                                      headers=county_staff())
    assert policy.status_code == 200
    assert await harness.fetchval("SELECT count(*) FROM duties WHERE caregiver_id = $1 AND duty_kind = 'plan_review' "
                                  "AND status = 'open'", teacher) == 2
    note = await harness.client.post(f"/v1/plans/{plan['id']}/notes", headers=caregiver(teacher), json={
        "noted_on": str(day), "note": "本周作业完成较好", "review_of": str(first)})
    assert note.status_code == 201, note.text
    [met] = await harness.events("DutyFulfilled", caregiver_id=teacher, duty_kind="plan_review")
    assert met.contact_id == uuid.UUID(note.json()["id"]) and met.due_on == first
    again = await harness.client.post(f"/v1/plans/{plan['id']}/notes", headers=caregiver(teacher), json={
        "noted_on": str(day), "note": "再记一次", "review_of": str(first)})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "body.review_of"

    closed = await harness.client.post(f"/v1/plans/{plan['id']}/closure", json={"result": "achieved"},
                                       headers={**staff, "If-Match": f'"{plan["version"]}"'})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and {r["state"] for r in closed.json()["reviews"]} == {
        "reviewed", "cancelled"}
    [cancelled] = await harness.events("DutyCancelled", caregiver_id=teacher, duty_kind="plan_review")
    assert cancelled.due_on == second
    late_note = await harness.client.post(f"/v1/plans/{plan['id']}/notes", headers=caregiver(teacher),
                                          json={"noted_on": str(day), "note": "x"})
    assert late_note.status_code == 409
    seen = await harness.client.get(f"/v1/plans/{plan['id']}",
                                   headers={**township_staff(sensitive=True), "X-Purpose": "review"})
    assert seen.json()["notes"][0]["note"] == "本周作业完成较好"
    assert await harness.fetchval("SELECT count(*) FROM read_audit WHERE record_kind = 'plan' "
                                  "AND $1 = ANY(record_ids)", uuid.UUID(plan["id"])) >= 2


async def test_a_school_head_lists_the_plans_of_their_own_schools_children_only(harness: Harness) -> None:
    """As one plan's read allows (404 for another school's child), so does the list: a
    principal's token carries a school, and another school's plans are not listed."""
    mine, theirs = f"school-{uuid.uuid4().hex[:8]}", f"school-{uuid.uuid4().hex[:8]}"
    plans = {}
    for school in (mine, theirs):
        child_id = await harness.child(school_id=school)
        _, teacher = await harness.pair(child_id, started_on=today(harness.settings) - timedelta(days=3))
        created = await harness.client.post(f"/v1/children/{child_id}/plans", headers=township_staff(), json={
            "kind": "education", "title": "个别教育管理方案", "goals": [GOAL], "owner_caregiver_id": str(teacher)})
        assert created.status_code == 201, created.text
        plans[school] = created.json()["id"]
    principal = bearer(roles=["school_staff"], jurisdiction=TOWNSHIP, subject="principal", school_id=mine)
    listed = {p["id"] for p in (await harness.client.get("/v1/plans", params={"limit": 500}, headers=principal)
                                ).json()["items"]}
    assert plans[mine] in listed and plans[theirs] not in listed
    assert (await harness.client.get(f"/v1/plans/{plans[theirs]}", headers=principal)).status_code == 404
    by_township = {p["id"] for p in (await harness.client.get("/v1/plans", params={"limit": 500},
                                                             headers=township_staff())).json()["items"]}
    assert {plans[mine], plans[theirs]} <= by_township

"""The scheduler's scans for an as-of date: due soon, overdue once per instance and level,
the escalation ladder, backfills, concern escalation, policy changes, work lists, statistics."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import date, timedelta

import pytest

from tests.support.processes import REPO, clock_env
from tests.visits.harness import (
    ELSEWHERE, OTHER_TOWNSHIP, Harness, admin, caregiver, county_staff, national_admin, now, today, township_staff,
)
from tests.support.auth import OTHER_COUNTY, TOWNSHIP

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock


async def _paired(harness: Harness, **child: object) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A child in the township with a lead caregiver paired a month ago."""
    child_id = await harness.child(**child)  # type: ignore[arg-type]
    pairing_id, caregiver_id = await harness.pair(child_id, started_on=today(harness.settings) - timedelta(days=30))
    return child_id, pairing_id, caregiver_id


async def _first_duty(harness: Harness, pairing_id: uuid.UUID, kind: str = "home_visit"):  # type: ignore
    return (await harness.fetch("SELECT * FROM duties WHERE pairing_id = $1 AND duty_kind = $2 AND status = 'open'"
                                " ORDER BY due_on LIMIT 1", pairing_id, kind))[0]


async def test_due_soon_then_overdue_up_the_ladder_each_once(harness: Harness) -> None:
    _, pairing_id, caregiver_id = await _paired(harness)
    duty = await _first_duty(harness, pairing_id)
    due = duty["due_on"]

    await harness.scan(due - timedelta(days=1))
    await harness.scan(due - timedelta(days=1))
    [soon] = await harness.events("DutyDueSoon", duty_id=duty["id"])
    assert soon.caregiver_id == caregiver_id and soon.due_on == due and soon.duty_kind == "home_visit"

    for _ in range(2):  # a repeated scan (another replica, a restart) announces nothing new
        await harness.scan(due + timedelta(days=1))
    [late] = await harness.events("ContactOverdue", duty_id=duty["id"])
    assert late.escalation_level == "caregiver" and late.days_overdue == 1

    await harness.scan(due + timedelta(days=7))
    await harness.scan(due + timedelta(days=8))
    levels = [e.escalation_level for e in await harness.events("ContactOverdue", duty_id=duty["id"])]
    assert levels == ["caregiver", "school"]
    await harness.scan(due + timedelta(days=14))
    await harness.scan(due + timedelta(days=30))
    overdue = await harness.events("ContactOverdue", duty_id=duty["id"])
    assert [e.escalation_level for e in overdue] == ["caregiver", "school", "county"]
    assert overdue[-1].days_overdue == 14


async def test_a_backfill_far_behind_announces_every_rung_once(harness: Harness) -> None:
    _, pairing_id, _ = await _paired(harness, school_id=None)
    duty = await _first_duty(harness, pairing_id, "parent_call")
    await harness.scan(duty["due_on"] + timedelta(days=20))
    await harness.scan(duty["due_on"] + timedelta(days=21))
    levels = [e.escalation_level for e in await harness.events("ContactOverdue", duty_id=duty["id"])]
    assert levels == ["caregiver", "township", "county"]  # no school: the township is the second rung


async def test_a_contact_in_the_window_fulfils_the_duty_and_nothing_is_announced(harness: Harness) -> None:
    child_id, pairing_id, caregiver_id = await _paired(harness)
    day = today(harness.settings)
    [duty] = await harness.fetch("SELECT * FROM duties WHERE pairing_id = $1 AND duty_kind = 'talk'"
                                 " AND period_start <= $2 AND due_on >= $2", pairing_id, day)  # today's window
    response = await harness.client.post("/v1/contacts", headers=caregiver(caregiver_id), json={
        "child_id": str(child_id), "caregiver_id": str(caregiver_id), "kind": "talk",
        "occurred_at": now().isoformat()})
    assert response.status_code == 201
    assert await harness.fetchval("SELECT status FROM duties WHERE id = $1", duty["id"]) == "fulfilled"
    await harness.scan(duty["due_on"] + timedelta(days=30))
    assert await harness.events("ContactOverdue", duty_id=duty["id"]) == []


async def test_the_scan_extends_schedules_as_time_passes(harness: Harness) -> None:
    _, pairing_id, _ = await _paired(harness)
    far = today(harness.settings) + timedelta(days=100)
    await harness.scan(far)
    months = {row["period_start"] for row in await harness.fetch(
        "SELECT period_start FROM duties WHERE pairing_id = $1 AND duty_kind = 'home_visit'", pairing_id)}
    assert date(far.year, far.month, 1) in months
    assert len(months) >= 4  # nothing skipped between today and the horizon


async def test_unacknowledged_concerns_escalate_once_by_severity(harness: Harness) -> None:
    child_id, _, caregiver_id = await _paired(harness)
    response = await harness.client.post("/v1/contacts", headers=caregiver(caregiver_id), json={
        "child_id": str(child_id), "caregiver_id": str(caregiver_id), "kind": "home_visit",
        "occurred_at": now().isoformat(),
        "concerns": [{"category": "left_school", "severity": "urgent"}, {"category": "health", "severity": "low"},
                     {"category": "safety_hazard", "severity": "urgent"}]})
    raised = await harness.events("ConcernRaised", contact_id=uuid.UUID(response.json()["id"]))
    urgent, low, handled = raised
    ack = await harness.client.post(f"/v1/concerns/{handled.concern_id}/acknowledgement", json={},
                                    headers=township_staff())
    assert ack.status_code == 200
    tomorrow = today(harness.settings) + timedelta(days=1)
    await harness.scan(tomorrow)
    await harness.scan(tomorrow)
    escalated = {e.concern_id: e for e in await harness.events("ConcernEscalated")}
    assert urgent.concern_id in escalated and escalated[urgent.concern_id].escalation_level == "county"
    assert low.concern_id not in escalated and handled.concern_id not in escalated
    assert len(await harness.events("ConcernEscalated", concern_id=urgent.concern_id)) == 1
    await harness.scan(today(harness.settings) + timedelta(days=8))
    assert len(await harness.events("ConcernEscalated", concern_id=low.concern_id)) == 1


async def test_a_policy_change_derives_schedules_again_in_its_scope_only(harness: Harness) -> None:
    there_child = await harness.child(jurisdiction=ELSEWHERE)
    there, _ = await harness.pair(there_child, jurisdiction=ELSEWHERE,
                                  started_on=today(harness.settings) - timedelta(days=30))
    _, here, _ = await _paired(harness)
    url = f"/v1/admin/duty-policies/{OTHER_TOWNSHIP}/all/talk"
    assert (await harness.client.put(url, json={"period": "weekly"}, headers=township_staff())).status_code == 403
    outsider = await harness.client.put(url, json={"period": "weekly"},
                                        headers=county_staff(jurisdiction=OTHER_COUNTY))
    assert outsider.status_code == 404
    default = await harness.client.put("/v1/admin/duty-policies/default/all/talk", json={"period": "weekly"},
                                       headers=county_staff())
    assert default.status_code == 403
    changed = await harness.client.put(url, json={"period": "weekly"}, headers=county_staff())
    assert changed.status_code == 200 and changed.json()["version"] == 1 and changed.headers["ETag"] == '"1"'
    stale = await harness.client.put(url, json={"period": "off"}, headers={**county_staff(), "If-Match": '"5"'})
    assert stale.status_code == 412

    async def talk_lengths(pairing_id: uuid.UUID) -> set[int]:
        rows = await harness.fetch("SELECT period_start, due_on FROM duties WHERE pairing_id = $1 AND status = 'open'"
                                   " AND duty_kind = 'talk'", pairing_id)
        # Windows that ended before today are settled history, which a policy change leaves alone.
        return {(row["due_on"] - row["period_start"]).days for row in rows if row["due_on"] >= today(harness.settings)}

    assert await talk_lengths(there) == {6}
    assert 6 not in await talk_lengths(here)
    off = await harness.client.put(url, json={"period": "off"}, headers={**county_staff(), "If-Match": '"1"'})
    assert off.status_code == 200 and await talk_lengths(there) == set()
    listed = await harness.client.get("/v1/admin/duty-policies", headers=county_staff())
    assert {(p["scope_code"], p["audience"], p["duty_kind"], p["period"]) for p in listed.json()["items"]} >= {
        ("default", "priority", "talk", "weekly"), (OTHER_TOWNSHIP, "all", "talk", "off")}
    blind = await harness.client.put(url, json={"period": "monthly"}, headers=county_staff())
    assert blind.status_code == 428 and blind.json()["errors"][0]["field"] == "header.If-Match"
    back = await harness.client.put(url, json={"period": "monthly"}, headers={**county_staff(), "If-Match": '"2"'})
    assert back.status_code == 200


async def test_work_lists_for_a_caregiver_and_a_township(harness: Harness) -> None:
    _, pairing_id, caregiver_id = await _paired(harness)
    duty = await _first_duty(harness, pairing_id)
    # Make one duty a fortnight late as of today, as if the month had passed.
    await harness.fetch("UPDATE duties SET period_start = $2, due_on = $3 WHERE id = $1", duty["id"],
                        today(harness.settings) - timedelta(days=45), today(harness.settings) - timedelta(days=15))
    mine = await harness.client.get("/v1/me/duties", headers=caregiver(caregiver_id))
    assert mine.status_code == 200
    states = {d["id"]: d for d in mine.json()["items"]}
    assert states[str(duty["id"])]["state"] == "overdue" and states[str(duty["id"])]["days_overdue"] == 15
    assert all(d["caregiver_id"] == str(caregiver_id) for d in mine.json()["items"])
    assert (await harness.client.get("/v1/me/duties", headers=township_staff())).status_code == 403
    township = await harness.client.get("/v1/duties", params={"township_code": TOWNSHIP, "limit": 1000},
                                        headers=township_staff())
    assert str(duty["id"]) in {d["id"] for d in township.json()["items"]}
    elsewhere = await harness.client.get("/v1/duties", headers=township_staff(OTHER_TOWNSHIP))
    assert str(duty["id"]) not in {d["id"] for d in elsewhere.json()["items"]}
    # A township filter outside the caller's scope is refused, not answered with nothing.
    outside = await harness.client.get("/v1/duties", params={"township_code": TOWNSHIP},
                                       headers=township_staff(OTHER_TOWNSHIP))
    assert outside.status_code == 403 and outside.json()["errors"][0]["field"] == "query.township_code"
    assert (await harness.client.get("/v1/duties", headers=caregiver(caregiver_id))).status_code == 403


async def test_statistics_count_within_the_jurisdiction(harness: Harness) -> None:
    child_id, _, caregiver_id = await _paired(harness)
    for kind in ("home_visit", "letter"):
        await harness.client.post("/v1/contacts", headers=caregiver(caregiver_id), json={
            "child_id": str(child_id), "caregiver_id": str(caregiver_id), "kind": kind,
            "occurred_at": now().isoformat()})
    stats = (await harness.client.get("/v1/statistics", params={"from": (now() - timedelta(days=1)).isoformat()},
                                      headers=county_staff())).json()
    assert stats["contacts_by_kind"]["letter"] >= 1 and stats["contacts_by_township"][TOWNSHIP] >= 2
    assert 0 < stats["coverage"]["share"] <= 1 and stats["coverage"]["seen_in_last_30_days"] >= 1
    assert any(a["caregiver_id"] == str(caregiver_id) and a["contacts"] == 2 for a in stats["caregiver_activity"])
    other = (await harness.client.get("/v1/statistics", headers=county_staff(jurisdiction=OTHER_COUNTY))).json()
    assert other["contacts_total"] == 0 and other["coverage"]["active_children"] == 0
    assert (await harness.client.get("/v1/statistics", headers=caregiver(caregiver_id))).status_code == 403


async def test_a_scan_from_the_command_line(harness: Harness) -> None:
    _, pairing_id, _ = await _paired(harness)
    [duty] = await harness.fetch("SELECT * FROM duties WHERE pairing_id = $1 AND duty_kind = 'parent_call'"
                                 " AND status = 'open' AND due_on >= $2 ORDER BY due_on LIMIT 1",
                                 pairing_id, today(harness.settings))
    as_of = duty["due_on"] + timedelta(days=2)  # in the future, whatever the date
    env = {"SHOUHU_VISITS_DATABASE_URL": harness.settings.database_url, "PATH": "/usr/bin:/bin", **clock_env()}
    refused = subprocess.run([sys.executable, "-m", "services.visits", "scan", "--as-of", as_of.isoformat()],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "future" in refused.stderr
    env["SHOUHU_VISITS_ALLOW_FUTURE_SCANS"] = "true"
    done = subprocess.run([sys.executable, "-m", "services.visits", "scan", "--as-of", as_of.isoformat()],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["as_of"] == as_of.isoformat()
    assert [e.escalation_level for e in await harness.events("ContactOverdue", duty_id=duty["id"])] == ["caregiver"]
    assert (await harness.client.post("/v1/admin/scans", json={"as_of": today(harness.settings).isoformat()},
                                      headers=county_staff())).status_code == 403
    assert (await harness.client.post("/v1/admin/scans", json={"as_of": today(harness.settings).isoformat()},
                                      headers=admin())).status_code == 403  # a county's administrator
    assert (await harness.client.post("/v1/admin/scans", json={"as_of": "soon"},
                                      headers=national_admin())).status_code == 422
    harness.settings.allow_future_scans = False
    try:
        future = await harness.client.post("/v1/admin/scans", json={"as_of": as_of.isoformat()},
                                           headers=national_admin())
        assert future.status_code == 422 and future.json()["errors"][0]["field"] == "body.as_of"
        assert (await harness.client.post("/v1/admin/scans", json={"as_of": today(harness.settings).isoformat()},
                                          headers=national_admin())).status_code == 200
    finally:
        harness.settings.allow_future_scans = True


async def test_a_pairing_recorded_late_owes_recent_windows_but_no_older_history(harness: Harness) -> None:
    """backfill_days (45): a pairing that started at the beginning of last month, recorded
    only now, owes last month's visit (which ended within 45 days); one started 200 days
    ago owes nothing that ended before the 45 days."""
    first_of_last_month = (today(harness.settings).replace(day=1) - timedelta(days=1)).replace(day=1)
    recent_child = await harness.child()
    recent, _ = await harness.pair(recent_child, started_on=first_of_last_month)
    old_child = await harness.child()
    old, _ = await harness.pair(old_child, started_on=today(harness.settings) - timedelta(days=200))
    horizon_floor = today(harness.settings) - timedelta(days=harness.settings.backfill_days)

    recent_duties = await harness.fetch("SELECT due_on FROM duties WHERE pairing_id = $1 AND duty_kind = 'home_visit'"
                                        " ORDER BY due_on", recent)
    assert recent_duties[0]["due_on"] < today(harness.settings), "last month's visit is owed, so it can be overdue"
    old_duties = await harness.fetch("SELECT min(due_on) AS first FROM duties WHERE pairing_id = $1", old)
    assert old_duties[0]["first"] >= horizon_floor

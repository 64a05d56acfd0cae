"""Group work recorded once through the API: a safety lecture for a class of 56, the
county's vocabulary of activity types, a children's home with its register and
attendance, the statistics by type, and ActivityHeld with counts and no names."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer
from tests.visits.harness import ELSEWHERE, Harness, county_staff, today, township_staff

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock

TITLE = "防溺水安全教育（城关小学三年级二班）"


def _lecture(harness: Harness, child_ids: list[uuid.UUID], **overrides: object) -> dict:
    body = {"activity_type": "safety_education", "title": TITLE,
            "held_on": str(today(harness.settings) - timedelta(days=1)), "place": "学校多功能厅",
            "township_code": TOWNSHIP, "village_code": VILLAGE, "school_id": "school-1",
            "host_caregiver_ids": [str(uuid.uuid4())], "other_hosts": "县公安局民警",
            "child_ids": [str(c) for c in child_ids], "other_children": 4, "guardians": 0, "others": 2}
    body.update(overrides)
    return body


async def _counts(harness: Harness) -> tuple:
    return (await harness.fetchval("SELECT count(*) FROM activities"),
            await harness.fetchval("SELECT count(*) FROM activity_attendees"),
            await harness.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'cn.shouhu.ActivityHeld.v1'"))


async def test_a_lecture_for_a_class_is_recorded_once_and_counted(harness: Harness) -> None:
    pupils = [await harness.child() for _ in range(56)]
    outsider = await harness.child(jurisdiction=ELSEWHERE)
    staff = township_staff()
    before = await _counts(harness)

    refusals = [
        (_lecture(harness, [*pupils[:3], outsider]), "body.child_ids[3]"),
        (_lecture(harness, [pupils[0], pupils[1], pupils[0]]), "body.child_ids[2]"),
        (_lecture(harness, [uuid.uuid4()]), "body.child_ids[0]"),
        (_lecture(harness, pupils[:2], held_on=str(today(harness.settings) + timedelta(days=1))), "body.held_on"),
        (_lecture(harness, pupils[:2], activity_type="fishing"), "body.activity_type"),
        (_lecture(harness, [], other_children=0, others=0), "body.child_ids"),
        (_lecture(harness, pupils[:2], nickname="x"), "body.nickname"),
    ]
    for body, field in refusals:
        refused = await harness.client.post("/v1/activities", json=body, headers=staff)
        assert refused.status_code == 422, (field, refused.text)
        assert field in {e["field"] for e in refused.json()["errors"]}, refused.json()
    other_place = _lecture(harness, pupils[:2], township_code="330103001000", village_code=None)
    assert (await harness.client.post("/v1/activities", json=other_place, headers=staff)).status_code == 404
    wrong_village = _lecture(harness, pupils[:2], village_code="330102002001")
    assert (await harness.client.post("/v1/activities", json=wrong_village, headers=staff)).status_code == 422
    assert await _counts(harness) == before

    body = _lecture(harness, pupils, id=str(uuid.uuid4()))
    created = await harness.client.post("/v1/activities", json=body, headers=staff)
    assert created.status_code == 201, created.text
    assert created.json()["attendee_count"] == 56 and len(created.json()["child_ids"]) == 56
    again = await harness.client.post("/v1/activities", json=body, headers=staff)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    clash = await harness.client.post("/v1/activities", json={**body, "activity_type": "class_meeting"}, headers=staff)
    assert clash.status_code == 409
    activities, attendees, events = await _counts(harness)
    assert (activities, attendees, events) == (before[0] + 1, before[1] + 56, before[2] + 1)

    [held] = await harness.events("ActivityHeld", activity_id=uuid.UUID(created.json()["id"]))
    assert (held.activity_type, held.registered_children, held.other_children, held.others) == (
        "safety_education", 56, 4, 2)
    raw = await harness.fetchval("SELECT payload::text FROM outbox WHERE event_type = 'cn.shouhu.ActivityHeld.v1' "
                                 "AND payload->>'activity_id' = $1", created.json()["id"])
    assert "防溺水" not in raw and "民警" not in raw and str(pupils[0]) not in raw

    one = await harness.client.get(f"/v1/activities/{created.json()['id']}", headers=staff)
    assert one.status_code == 200 and str(pupils[5]) in one.json()["child_ids"]
    elsewhere = bearer(roles=["township_staff"], jurisdiction=ELSEWHERE.township_code)
    assert (await harness.client.get(f"/v1/activities/{created.json()['id']}", headers=elsewhere)).status_code == 404
    of_child = await harness.client.get("/v1/activities", params={"child_id": str(pupils[7])}, headers=staff)
    assert [a["id"] for a in of_child.json()["items"]] == [created.json()["id"]]

    stats = await harness.client.get("/v1/activity-statistics", headers=staff,
                                     params={"from": str(today(harness.settings) - timedelta(days=7)),
                                             "to": str(today(harness.settings))})
    assert stats.status_code == 200, stats.text
    lecture = stats.json()["by_type"]["safety_education"]
    assert lecture["activities"] >= 1 and lecture["registered_children"] >= 56
    assert stats.json()["children_reached"] >= 56
    assert (await harness.client.get("/v1/activity-statistics", headers=elsewhere)).json()["activities_total"] == 0


async def test_lists_page_with_an_opaque_cursor(harness: Harness) -> None:
    child_id = await harness.child()
    staff = township_staff()
    ids = set()
    for offset in range(5):
        created = await harness.client.post("/v1/activities", headers=staff, json=_lecture(
            harness, [child_id], activity_type="class_meeting",
            held_on=str(today(harness.settings) - timedelta(days=offset + 20))))
        ids.add(created.json()["id"])
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "activity_type": "class_meeting", **({"cursor": cursor} if cursor else {})}
        page = (await harness.client.get("/v1/activities", params=params, headers=staff)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(seen) == ids and len(seen) == 5
    assert (await harness.client.get("/v1/activities", params={"cursor": "x"}, headers=staff)).status_code == 422


async def test_each_county_keeps_its_own_activity_types(harness: Harness) -> None:
    names = {t["code"]: t["name"] for t in (await harness.client.get("/v1/activity-types", headers=township_staff())
                                            ).json()["items"]}
    assert {"安全教育", "心理辅导", "家长学校", "主题班会", "夏令营", "之家活动"} <= set(names.values())
    url = f"/v1/admin/activity-types/{COUNTY}/anti_drowning"
    assert (await harness.client.put(url, json={"name": "防溺水"}, headers=township_staff())).status_code == 403
    assert (await harness.client.put(url, json={"name": "防溺水"}, headers=county_staff())).status_code == 200
    off = await harness.client.put(f"/v1/admin/activity-types/{COUNTY}/festival_care",
                                   json={"name": "节日关爱", "active": False}, headers=county_staff())
    assert off.status_code == 200
    child_id = await harness.child()
    refused = await harness.client.post("/v1/activities", json=_lecture(harness, [child_id],
                                                                        activity_type="festival_care"),
                                        headers=township_staff())
    assert refused.status_code == 422
    accepted = await harness.client.post("/v1/activities", json=_lecture(harness, [child_id],
                                                                         activity_type="anti_drowning"),
                                         headers=township_staff())
    assert accepted.status_code == 201
    # The reports service reads the county's names (its ledgers print them), not the
    # vocabulary's changes; another county's service token is refused that county's.
    service = bearer(roles=["service"], jurisdiction=COUNTY, subject="service:reports")
    read = await harness.client.get("/v1/activity-types", params={"county_code": COUNTY}, headers=service)
    assert read.status_code == 200, read.text
    assert {t["code"]: t["name"] for t in read.json()["items"]}["anti_drowning"] == "防溺水"
    last = {t["code"]: t["updated_by"] for t in read.json()["items"]}  # the console's 最近修改
    assert last["anti_drowning"] == "county-officer" and last["safety_education"] == "migration"
    assert (await harness.client.put(url, json={"name": "防溺水教育"}, headers=service)).status_code == 403
    elsewhere = bearer(roles=["service"], jurisdiction="330103000000", subject="service:reports")
    assert (await harness.client.get("/v1/activity-types", params={"county_code": COUNTY},
                                     headers=elsewhere)).status_code == 404
    caregiver = bearer(roles=["caregiver"], jurisdiction=COUNTY, caregiver_id=str(uuid.uuid4()))
    assert (await harness.client.get("/v1/activity-types", headers=caregiver)).status_code == 403


async def test_a_childrens_home_keeps_its_register_and_attendance(harness: Harness) -> None:
    staff = township_staff()
    register = {"name": "清波村留守儿童之家", "township_code": TOWNSHIP, "village_code": VILLAGE,
                "place": "村委会二楼", "opening_hours": "每周三、周六 14:00-17:00",
                "staff_caregiver_ids": [str(uuid.uuid4()), str(uuid.uuid4())], "other_staff": "志愿者",
                "equipment": ["图书角", "亲情电话", "电脑2台"]}
    school = bearer(roles=["school_staff"], jurisdiction=TOWNSHIP)
    assert (await harness.client.post("/v1/childrens-homes", json=register, headers=school)).status_code == 403
    bad = await harness.client.post("/v1/childrens-homes", json={**register, "equipment": [""]}, headers=staff)
    assert bad.status_code == 422
    created = await harness.client.post("/v1/childrens-homes", json=register, headers=staff)
    assert created.status_code == 201, created.text
    home = created.json()
    assert home["equipment"] == ["图书角", "亲情电话", "电脑2台"] and home["version"] == 1

    children = [await harness.child() for _ in range(3)]
    url = f"/v1/childrens-homes/{home['id']}/attendance"
    session = await harness.client.post(url, headers=staff, json={
        "held_on": str(today(harness.settings)), "child_ids": [str(c) for c in children], "others": 1})
    assert session.status_code == 201, session.text
    assert session.json()["activity_type"] == "home_activity" and session.json()["home_id"] == home["id"]
    assert session.json()["place"] == "清波村留守儿童之家"
    [held] = await harness.events("ActivityHeld", activity_id=uuid.UUID(session.json()["id"]))
    assert held.home_id == uuid.UUID(home["id"]) and held.registered_children == 3

    listed = (await harness.client.get("/v1/childrens-homes", headers=staff)).json()
    mine = next(h for h in listed["items"] if h["id"] == home["id"])
    assert mine["sessions"] == 1 and mine["last_session_on"] == str(today(harness.settings))
    assert listed["next_cursor"] is None and listed["total"] >= 1

    stale = await harness.client.put(f"/v1/childrens-homes/{home['id']}", json={**register, "active": False},
                                     headers={**staff, "If-Match": '"5"'})
    assert stale.status_code == 412
    closed = await harness.client.put(f"/v1/childrens-homes/{home['id']}", json={**register, "active": False},
                                      headers={**staff, "If-Match": '"1"'})
    assert closed.status_code == 200 and closed.json()["version"] == 2
    refused = await harness.client.post(url, headers=staff, json={"held_on": str(today(harness.settings)),
                                                                  "child_ids": [str(children[0])]})
    assert refused.status_code == 409
    sessions = await harness.client.get("/v1/activities", params={"home_id": home["id"]}, headers=staff)
    assert len(sessions.json()["items"]) == 1

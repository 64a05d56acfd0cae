"""The caregiver app's 待办 for the duties no contact meets (issue #19): in Debian's chromium at
phone size against the real stack, the demo teacher opens a child's plan whose review is due
from 待办, reads its goals and the note written before, writes the review and sees the duty leave
待办 (the server holds the review as done); and marks a follow-up written on an earlier talk
done from 待办, where it shows what it asks. Screens photographed and checked with axe-core."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
from playwright.sync_api import Page, expect

from shared.clock import from_env
from tests.web import app as phone_tests
from tests.web.app import look, sign_in_as_teacher
from tests.web.console import until

GOALS = ["数学作业每周按时完成四次以上", "每周与在外务工的爸爸视频一次"]
EARLIER = "第一周：作业完成三次，周五和爸爸视频了十分钟"
REVIEW = "本月作业都按时完成，数学测验从52分提高到61分；下月继续每周两次作业辅导"
ACTION = "联系学校申请营养餐补助"


# The phone-sized page and the teacher's API client of the app's tests (fixtures, tests/web/app.py).
page = phone_tests.page
api = phone_tests.api


def me(api: httpx.Client) -> str:
    token = api.headers["Authorization"].removeprefix("Bearer ")
    return jwt.decode(token, options={"verify_signature": False})["caregiver_id"]


def paired_in_visits(api: httpx.Client, child_id: str, timeout_s: float = 60) -> None:
    """Until visits has seen the pairing (the registry's event, through Kafka): bounded."""
    until(lambda: api.get(f"/visits/v1/children/{child_id}/contacts").status_code == 200,
          "visits sees the teacher's pairing", timeout_s=timeout_s)


def open_duties(api: httpx.Client) -> list[dict]:
    answer = api.get("/visits/v1/me/duties", params={"state": "open", "limit": 500})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_a_plans_review_is_written_from_due_and_leaves_it(page: Page, api) -> None:
    child = api.get("/registry/v1/me/children").json()["items"][0]
    paired_in_visits(api, child["id"])
    review_on = from_env().today() + timedelta(days=3)  # its window has begun: owed now
    created = api.post(f"/visits/v1/children/{child['id']}/plans", json={
        "kind": "study", "title": "学习帮扶计划", "goals": GOALS, "owner_caregiver_id": me(api),
        "review_dates": [str(review_on)]})
    assert created.status_code == 201, created.text
    plan = created.json()
    earlier = api.post(f"/visits/v1/plans/{plan['id']}/notes",
                       json={"noted_on": str(from_env().today()), "note": EARLIER})
    assert earlier.status_code == 201, earlier.text
    [owed] = [d for d in open_duties(api) if d["plan_id"] == plan["id"]]
    assert owed["duty_kind"] == "plan_review" and owed["due_on"] == str(review_on)

    sign_in_as_teacher(page)
    page.get_by_role("tab", name="待办").tap()
    duty = page.get_by_test_id("duty").filter(has_text=child["name"]).filter(has_text="帮扶计划回顾")
    expect(duty).to_have_count(1)
    look(page, "due-plan-review")

    duty.tap()
    expect(page.get_by_role("heading", name=f"{child['name']}的学习帮扶计划")).to_be_visible()
    expect(page.get_by_test_id("goal")).to_have_text([f"1. {GOALS[0]}", f"2. {GOALS[1]}"])
    expect(page.get_by_test_id("plan-note")).to_contain_text(EARLIER)
    expect(page.get_by_test_id("review-date")).to_contain_text("待回顾")
    expect(page.get_by_test_id("send-review")).to_be_disabled()
    page.get_by_test_id("review-text").locator("textarea").fill(REVIEW)
    look(page, "plan-review")
    page.get_by_test_id("send-review").tap()

    expect(page.get_by_role("heading", name="待办")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="回顾已记下")).to_be_visible()
    expect(page.get_by_test_id("duty").filter(has_text=child["name"]).filter(has_text="帮扶计划回顾")).to_have_count(0)
    look(page, "due-after-review")
    assert not [d for d in open_duties(api) if d["plan_id"] == plan["id"]]
    held = api.get(f"/visits/v1/plans/{plan['id']}").json()
    assert [(r["due_on"], r["state"]) for r in held["reviews"]] == [(str(review_on), "reviewed")]
    assert sorted(n["note"] for n in held["notes"]) == sorted([EARLIER, REVIEW])


def test_a_follow_up_shows_what_it_asks_and_is_marked_done_from_due(page: Page, api) -> None:
    child = api.get("/registry/v1/me/children").json()["items"][1]
    paired_in_visits(api, child["id"])
    due_on = from_env().today() + timedelta(days=2)
    logged = api.post("/visits/v1/contacts", json={
        "child_id": child["id"], "caregiver_id": me(api), "kind": "talk",
        "occurred_at": (from_env().now() - timedelta(minutes=30)).isoformat(),
        "follow_ups": [{"action": ACTION, "due_on": str(due_on)}]})
    assert logged.status_code == 201, logged.text
    [owed] = [d for d in open_duties(api) if d["contact_id"] == logged.json()["id"]]
    assert owed["duty_kind"] == "follow_up"

    sign_in_as_teacher(page)
    page.get_by_role("tab", name="待办").tap()
    duty = page.get_by_test_id("duty").filter(has_text=child["name"]).filter(has_text=ACTION)
    expect(duty).to_have_count(1)
    expect(duty).to_contain_text("后续跟进")
    look(page, "due-follow-up")
    duty.get_by_role("button", name="已完成").tap()

    expect(page.get_by_test_id("duty").filter(has_text=ACTION)).to_have_count(0)
    expect(page.get_by_test_id("said")).to_have_text("已记下，谢谢！")
    look(page, "due-follow-up-done")
    assert not [d for d in open_duties(api) if d["id"] == owed["id"]]
    done = api.get("/visits/v1/me/duties", params={"state": "fulfilled", "limit": 1000}).json()["items"]
    assert [d["fulfilled_by"] for d in done if d["id"] == owed["id"]] == [logged.json()["id"]]
    page.reload()
    expect(page.get_by_role("heading", name="待办")).to_be_visible()
    expect(page.get_by_text("正在打开…")).to_have_count(0)
    expect(page.get_by_test_id("duty").filter(has_text=ACTION)).to_have_count(0)

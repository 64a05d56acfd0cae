"""A plan per child (个别教育管理方案, 学习帮扶计划): goals, an owner among the caregivers
paired with the child, review dates that become the owner's plan_review duties (so the
scheduler reminds before and escalates after, like every duty), dated progress notes, and
a result when it closes. Staff in scope and the caregivers paired with the child see it;
goals and notes are encrypted, shown to the paired caregivers and to staff with
view_sensitive, each such read audited."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.visits import store, store_duties, store_plans
from services.visits.domain_duties import duty_event
from services.visits.encrypted_columns import PLAN_GOALS, PLAN_NOTE, PLAN_RESULT_NOTE
from shared import audit
from shared.auth import Principal
from shared.clean_text import CleanInput, MultiLineText
from shared.conditional import IfMatch, etag, parse_if_match, stale
from shared.contracts import DutyCancelled, DutyFulfilled, DutyScheduled
from shared.purpose import RELATION_PURPOSES, StatedPurpose, clear_purpose
from shared.rules import Refusal, RuleViolation
from shared.routes import Caller, STAFF_ROLES, caregiver_of, is_staff
from shared.pagination import decode_cursor, encode_cursor

router = APIRouter(prefix="/v1", tags=["plans"])
REVIEW_WINDOW_DAYS = 14  # a review is "open" (and reminded) in the two weeks before its date
RESULTS = ("achieved", "partly_achieved", "not_achieved", "transferred", "other")


class PlanIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["education", "study", "other"]  # 个别教育管理方案, 学习帮扶计划
    title: str = Field(min_length=1, max_length=100)
    goals: list[Annotated[MultiLineText, Field(min_length=1, max_length=500)]] = Field(min_length=1, max_length=20)
    owner_caregiver_id: UUID
    review_dates: list[date] = Field(default_factory=list, max_length=24)


class PlanNoteIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    noted_on: date
    note: MultiLineText = Field(min_length=1, max_length=4000)
    review_of: date | None = None  # this note is the review due that day


class PlanClosureIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    result: Literal[RESULTS]  # type: ignore[valid-type]
    note: MultiLineText | None = Field(default=None, max_length=4000)


class ReviewOut(BaseModel):
    due_on: date
    state: str  # open | reviewed | cancelled
    reviewed_at: datetime | None


class PlanNoteOut(BaseModel):
    id: UUID
    noted_on: date
    written_by: str
    note: str | None = None


class PlanOut(BaseModel):
    id: UUID
    child_id: UUID
    kind: str
    title: str
    owner_caregiver_id: UUID
    township_code: str
    status: str
    result: str | None
    created_by: str
    created_at: datetime
    closed_at: datetime | None
    version: int
    goals: list[str] | None = None        # paired caregivers and view_sensitive only
    result_note: str | None = None
    reviews: list[ReviewOut] | None = None  # on reads of one plan
    notes: list[PlanNoteOut] | None = None


class PlanPage(BaseModel):
    items: list[PlanOut]
    next_cursor: str | None


async def _may_see(conn: asyncpg.Connection, principal: Principal, plan: asyncpg.Record | None,
                   stated: str | None) -> tuple[bool, str | None]:
    """(visible, the purpose under which its goals and notes are shown, None for not shown):
    the paired caregiver by the relation, staff with view_sensitive who state why."""
    if plan is None:
        return False, None
    me = caregiver_of(principal)
    if me is not None and await store_plans.paired_now(conn, plan["child_id"], me):
        return True, RELATION_PURPOSES["paired_caregiver"]
    if is_staff(principal) and principal.covers(plan["village_code"] or plan["township_code"]) and (
            principal.school_scope is None or plan["school_id"] == principal.school_scope):
        return True, clear_purpose(stated, principal)
    return False, None


async def _out(conn: asyncpg.Connection, request: Request, principal: Principal, plan: asyncpg.Record,
               purpose: str | None, *, detail: bool) -> PlanOut:
    out = PlanOut(**{name: plan[name] for name in PlanOut.model_fields if name in plan.keys()})
    cipher = request.app.state.cipher
    sensitive = purpose is not None
    if purpose is not None:
        await audit.record_principal_read(conn, principal, action="read", record_kind="plan", record_ids=[plan["id"]],
                                          fields={"goals", "result_note", *(["notes"] if detail else [])},
                                          purpose=purpose)
        if plan["goals_enc"] is not None:  # None: cleared when the child's retention period ended
            out.goals = json.loads(cipher.decrypt(plan["goals_enc"], context=PLAN_GOALS.context(plan["id"])))
        if plan["result_note_enc"]:
            out.result_note = cipher.decrypt(plan["result_note_enc"], context=PLAN_RESULT_NOTE.context(plan["id"]))
    if detail:
        out.reviews = [ReviewOut(due_on=r["due_on"], reviewed_at=r["reviewed_at"],
                                 state="reviewed" if r["reviewed_at"] else
                                 "cancelled" if r["duty_status"] == "cancelled" else "open")
                       for r in await store_plans.reviews(conn, plan["id"])]
        out.notes = [PlanNoteOut(id=n["id"], noted_on=n["noted_on"], written_by=n["written_by"],
                                 note=cipher.decrypt(n["note_enc"], context=PLAN_NOTE.context(n["id"]))
                                 if sensitive else None) for n in await store_plans.notes(conn, plan["id"])]
    return out


def _may_write(principal: Principal) -> None:
    if not (principal.has_role(*STAFF_ROLES) or caregiver_of(principal) is not None):
        raise Refusal(403, "forbidden", "staff or a caregiver paired with the child")


@router.post("/children/{child_id}/plans", response_model=PlanOut, status_code=status.HTTP_201_CREATED)
async def create_plan(child_id: UUID, body: PlanIn, request: Request, response: Response,
                      principal: Caller) -> PlanOut:
    """Staff in scope, or a caregiver paired with the child, set a plan; its owner must be
    paired with the child now; each review date becomes the owner's plan_review duty."""
    _may_write(principal)
    settings = request.app.state.settings
    today, now = settings.clock.today(), settings.clock.now()
    for index, day in enumerate(body.review_dates):
        if day <= today:
            raise RuleViolation(f"review_dates[{index}]", "回顾日期须在今天之后 / is not after today")
        if day in body.review_dates[:index]:
            raise RuleViolation(f"review_dates[{index}]", "同一日期填了两次 / is listed twice")
    plan_id = uuid.uuid4()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        me = caregiver_of(principal)
        child = await store.get_child_in_scope(conn, child_id, principal.scope_prefix,
                                               school_id=principal.school_scope) if is_staff(principal) else \
            (await store.get_child(conn, child_id) if me and await store_plans.paired_now(conn, child_id, me)
             else None)
        if child is None:
            raise Refusal(404, "not_found", "no such child")
        if child["status"] == "closed":
            raise RuleViolation("child_id", "儿童档案已销档 / the child's record is closed", status_code=409)
        owner_pairing = await store_plans.active_pairing(conn, child_id, body.owner_caregiver_id, today)
        if owner_pairing is None:
            raise RuleViolation("owner_caregiver_id", "负责人须是该儿童当前的结对帮扶人 / is not paired with the child")
        goals = request.app.state.cipher.encrypt(json.dumps(body.goals, ensure_ascii=False),
                                                 context=PLAN_GOALS.context(plan_id))
        plan = await store_plans.insert_plan(conn, {
            "id": plan_id, "child_id": child_id, "kind": body.kind, "title": body.title, "goals_enc": goals,
            "owner_caregiver_id": body.owner_caregiver_id, "owner_pairing_id": owner_pairing,
            "county_code": child["county_code"], "township_code": child["township_code"],
            "village_code": child["village_code"], "school_id": child["school_id"], "created_by": principal.subject,
            "created_at": now})
        scheduled = []
        for index, day in enumerate(sorted(body.review_dates)):
            duty = await store_plans.add_review(conn, plan, day, duty_id=uuid.uuid4(),
                                                window_start=max(today, day - timedelta(days=REVIEW_WINDOW_DAYS)))
            if duty is None:
                raise RuleViolation(f"review_dates[{body.review_dates.index(day)}]",
                                    "负责人当天已有该儿童另一计划的回顾 / the owner has another plan's "
                                    "review of this child that day", status_code=409)
            scheduled.append(duty_event(DutyScheduled, duty, period_start=duty["period_start"]))
        await store_duties.add_events(conn, scheduled)
        out = await _out(conn, request, principal, plan, RELATION_PURPOSES["author"], detail=True)
    response.headers["ETag"] = etag(plan["version"])
    return out


@router.get("/plans", response_model=PlanPage)
async def list_plans(request: Request, principal: Caller,
                     child_id: UUID | None = None,
                     status_filter: Annotated[Literal["open", "closed"] | None, Query(alias="status")] = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     cursor: Annotated[str | None, Query(max_length=200)] = None) -> PlanPage:
    """Staff: plans in their jurisdiction (a school's staff: their school's, as one plan's
    read allows); a caregiver: plans of children paired with them."""
    me = caregiver_of(principal)
    if me is None and not is_staff(principal):
        raise Refusal(403, "forbidden", "staff or a caregiver")
    after = decode_cursor(cursor, datetime, UUID) if cursor else None
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        rows = await store_plans.list_plans(conn, scope_prefix=None if me else principal.scope_prefix,
                                            caregiver_id=me, child_id=child_id, status=status_filter, after=after,
                                            limit=limit + 1, school_id=None if me else principal.school_scope)
        page = rows[:limit]
        items = [await _out(conn, request, principal, row, None, detail=False) for row in page]
    return PlanPage(items=items, next_cursor=encode_cursor([page[-1]["created_at"].isoformat(), page[-1]["id"]])
                    if len(rows) > limit else None)


@router.get("/plans/{plan_id}", response_model=PlanOut)
async def get_plan(plan_id: UUID, request: Request, response: Response,
                   principal: Caller,
                   stated: StatedPurpose = None) -> PlanOut:
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        plan = await store_plans.get_plan(conn, plan_id)
        visible, purpose = await _may_see(conn, principal, plan, stated)
        if not visible:
            raise Refusal(404, "not_found", "no such plan")
        out = await _out(conn, request, principal, plan, purpose, detail=True)
    response.headers["ETag"] = etag(plan["version"])
    return out


async def _open_plan(conn: asyncpg.Connection, principal: Principal, plan_id: UUID,
                     if_match: str | None = None) -> asyncpg.Record:
    expected = parse_if_match(if_match)
    plan = await store_plans.get_plan(conn, plan_id, for_update=True)
    visible, _ = await _may_see(conn, principal, plan, None)
    if not visible or plan is None:
        raise Refusal(404, "not_found", "no such plan")
    if expected is not None and expected != plan["version"]:
        raise stale(plan["version"])
    if plan["status"] != "open":
        raise RuleViolation("plan", "计划已结束 / the plan is closed", status_code=409)
    return plan


@router.post("/plans/{plan_id}/notes", response_model=PlanNoteOut, status_code=status.HTTP_201_CREATED)
async def add_plan_note(plan_id: UUID, body: PlanNoteIn, request: Request,
                        principal: Caller) -> PlanNoteOut:
    """A dated progress note; with `review_of`, it is the review due that day and fulfils
    the owner's plan_review duty."""
    _may_write(principal)
    settings = request.app.state.settings
    now = settings.clock.now()
    if body.noted_on > settings.clock.today():
        raise RuleViolation("noted_on", "日期不能晚于今天 / is in the future")
    note_id = uuid.uuid4()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        plan = await _open_plan(conn, principal, plan_id)
        note = await store_plans.add_note(conn, note_id=note_id, plan_id=plan_id, noted_on=body.noted_on,
                                          by=principal.subject, at=now,
                                          note_enc=request.app.state.cipher.encrypt(
                                              body.note, context=PLAN_NOTE.context(note_id)))
        if body.review_of is not None:
            duty = await store_plans.mark_reviewed(conn, plan["id"], body.review_of, note_id=note_id,
                                                   by=principal.subject, at=now)
            if duty is None:
                raise RuleViolation("review_of", "不是本计划待回顾的日期 / is not an open review date of this plan")
            await store_duties.add_events(conn, [duty_event(DutyFulfilled, duty, contact_id=note_id,
                                                            fulfilled_at=duty["fulfilled_at"])])
    return PlanNoteOut(id=note_id, noted_on=note["noted_on"], written_by=note["written_by"])


@router.post("/plans/{plan_id}/closure", response_model=PlanOut)
async def close_plan(plan_id: UUID, body: PlanClosureIn, request: Request, response: Response,
                     principal: Caller, if_match: IfMatch = None) -> PlanOut:
    """Closed with its result; the reviews not yet done are cancelled with their duties."""
    _may_write(principal)
    if body.result == "other" and not body.note:
        raise RuleViolation("note", "结果为“其他”时请写明结果 / say what the result was when it is other")
    now = request.app.state.settings.clock.now()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await _open_plan(conn, principal, plan_id, if_match)
        note_enc = request.app.state.cipher.encrypt(body.note, context=PLAN_RESULT_NOTE.context(plan_id)) \
            if body.note else None
        closed, cancelled = await store_plans.close_plan(conn, plan_id, result=body.result, note_enc=note_enc,
                                                         by=principal.subject, at=now)
        await store_duties.add_events(conn, [duty_event(DutyCancelled, duty, cancelled_at=now) for duty in cancelled])
        _, purpose = await _may_see(conn, principal, closed, None)
        out = await _out(conn, request, principal, closed, purpose, detail=True)
    response.headers["ETag"] = etag(closed["version"])
    return out

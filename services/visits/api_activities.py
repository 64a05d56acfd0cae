"""Group activities recorded once (a 安全教育 lecture for a class, a 家长学校 session, a
summer camp of 300): the type from the county's vocabulary, title, date, place, hosts,
the registry's children who attended and counts of everyone else; ActivityHeld (counts,
no names) in the same transaction; statistics by type and township."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.visits import commands, domain_activities, store_activities
from services.visits.domain_activities import NewActivity
from shared import outbox
from shared.auth import Principal, scope_prefix
from shared.clean_text import CleanInput
from shared.conditional import IfMatch, etag, put_precondition
from shared.contracts import Jurisdiction
from shared.rules import Refusal, RuleViolation
from shared.routes import Caller, STAFF_ROLES, require_roles
from shared.pagination import decode_cursor, encode_cursor

router = APIRouter(prefix="/v1", tags=["activities"])
Code12 = Annotated[str, Field(pattern=r"^\d{12}$")]
TypeCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
Count = Annotated[int, Field(ge=0, le=100_000)]


class ActivityIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = None  # the client's own: sending it again records nothing new
    activity_type: TypeCode
    title: str = Field(min_length=1, max_length=100)
    held_on: date
    place: str | None = Field(default=None, max_length=200)
    township_code: Code12
    village_code: Code12 | None = None
    school_id: str | None = Field(default=None, max_length=64)
    host_caregiver_ids: list[UUID] = Field(default_factory=list, max_length=50)
    other_hosts: str | None = Field(default=None, max_length=200)  # "县公安局民警", not a child
    child_ids: list[UUID] = Field(default_factory=list, max_length=2000)
    other_children: Count = 0
    guardians: Count = 0
    others: Count = 0


class ActivityOut(BaseModel):
    id: UUID
    activity_type: str
    title: str
    held_on: date
    place: str | None
    township_code: str
    village_code: str | None
    school_id: str | None
    home_id: UUID | None
    host_caregiver_ids: list[UUID]
    other_hosts: str | None
    attendee_count: int
    other_children: int
    guardians: int
    others: int
    recorded_by: str
    recorded_at: datetime
    child_ids: list[UUID] | None = None  # on reads of one activity


class ActivityPage(BaseModel):
    items: list[ActivityOut]
    next_cursor: str | None


def county_of(code: str) -> str:
    return code[:6] + "000000"


def activity_out(row: asyncpg.Record, child_ids: list[UUID] | None = None) -> ActivityOut:
    fields = {name: row[name] for name in ActivityOut.model_fields if name != "child_ids"}
    return ActivityOut(**{**fields, "host_caregiver_ids": list(row["host_caregiver_ids"])}, child_ids=child_ids)


def place_in_scope(principal: Principal, township_code: str, village_code: str | None) -> None:
    if village_code is not None and not village_code.startswith(scope_prefix(township_code)):
        raise RuleViolation("village_code", "is not in the township")
    if not principal.covers(village_code or township_code):
        raise Refusal(404, "not_found", "no such place in your jurisdiction")


async def record(conn: asyncpg.Connection, request: Request, principal: Principal, activity: NewActivity,
                 details: dict[str, Any]) -> tuple[asyncpg.Record, bool]:
    """Checks and stores an activity with its attendees and ActivityHeld, in the caller's
    transaction; a repeat of its id answers the stored one (False: nothing new)."""
    existing = await store_activities.get_activity(conn, activity.id)
    if existing is not None:
        if existing["township_code"] != activity.jurisdiction.township_code or \
                existing["held_on"] != activity.held_on or existing["activity_type"] != activity.activity_type:
            raise RuleViolation("id", "is the id of another activity", status_code=409)
        return existing, False
    county = activity.jurisdiction.county_code
    types = frozenset(t["code"] for t in await store_activities.activity_types(conn, county) if t["active"])
    children = await store_activities.children_for_attendance(conn, list(activity.child_ids))
    domain_activities.check(activity, today=request.app.state.settings.clock.today(), active_types=types,
                            children=children, scope_prefix=principal.scope_prefix,
                            school_scope=principal.school_scope)
    j = activity.jurisdiction
    row = await store_activities.insert_activity(conn, {
        "id": activity.id, "activity_type": activity.activity_type, "held_on": activity.held_on,
        "county_code": j.county_code, "township_code": j.township_code, "village_code": j.village_code,
        "school_id": activity.school_id, "home_id": activity.home_id, "other_children": activity.other_children,
        "guardians": activity.guardians, "others": activity.others, "attendee_count": len(activity.child_ids),
        "recorded_by": principal.subject, "recorded_at": request.app.state.settings.clock.now(), **details,
    }, list(activity.child_ids))
    await outbox.add(conn, domain_activities.held(activity))
    return row, True


@router.post("/activities", response_model=ActivityOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "this id was recorded before: the stored activity", "model": ActivityOut}})
async def create_activity(body: ActivityIn, request: Request, response: Response,
                          principal: Caller) -> ActivityOut:
    """Staff in whose jurisdiction it was held record it once, with every child who came."""
    require_roles(principal, *STAFF_ROLES)
    place_in_scope(principal, body.township_code, body.village_code)
    school_id = body.school_id
    if principal.school_scope is not None:
        if school_id not in (None, principal.school_scope):
            raise Refusal(404, "not_found", "no such school in your jurisdiction")
        school_id = principal.school_scope
    activity = NewActivity(
        id=body.id or uuid.uuid4(), activity_type=body.activity_type, held_on=body.held_on,
        jurisdiction=Jurisdiction(county_code=county_of(body.township_code), township_code=body.township_code,
                                  village_code=body.village_code),
        child_ids=tuple(body.child_ids), school_id=school_id, other_children=body.other_children,
        guardians=body.guardians, others=body.others)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row, created = await record(conn, request, principal, activity, {
            "title": body.title, "place": body.place, "host_caregiver_ids": body.host_caregiver_ids,
            "other_hosts": body.other_hosts})
        child_ids = await store_activities.attendees(conn, row["id"])
    if not created:
        response.status_code = status.HTTP_200_OK
    return activity_out(row, child_ids)


@router.get("/activities", response_model=ActivityPage)
async def list_activities(request: Request, principal: Caller,
                          activity_type: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{1,39}$")] = None,
                          township_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                          home_id: UUID | None = None, child_id: UUID | None = None,
                          held_from: Annotated[date | None, Query(alias="from")] = None,
                          held_to: Annotated[date | None, Query(alias="to")] = None,
                          limit: Annotated[int, Query(ge=1, le=500)] = 100,
                          cursor: Annotated[str | None, Query(max_length=200)] = None) -> ActivityPage:
    require_roles(principal, *STAFF_ROLES)
    after = decode_cursor(cursor, date, UUID) if cursor else None
    async with request.app.state.pool.acquire() as conn:
        rows = await store_activities.list_activities(
            conn, scope_prefix=principal.scope_prefix, school_id=principal.school_scope, activity_type=activity_type,
            township_code=township_code, home_id=home_id, child_id=child_id, held_from=held_from, held_to=held_to,
            after=after, limit=limit + 1)
    page = rows[:limit]
    return ActivityPage(items=[activity_out(row) for row in page],
                        next_cursor=encode_cursor([page[-1]["held_on"], page[-1]["id"]]) if len(rows) > limit else None)


@router.get("/activities/{activity_id}", response_model=ActivityOut)
async def get_activity(activity_id: UUID, request: Request,
                       principal: Caller) -> ActivityOut:
    require_roles(principal, *STAFF_ROLES)
    async with request.app.state.pool.acquire() as conn:
        row = await store_activities.get_activity(conn, activity_id)
        if row is None or not principal.covers(row["village_code"] or row["township_code"]) or (
                principal.school_scope is not None and row["school_id"] != principal.school_scope):
            raise Refusal(404, "not_found", "no such activity")
        return activity_out(row, await store_activities.attendees(conn, activity_id))


class ActivityTypeOut(BaseModel):
    code: str
    name: str
    active: bool
    defined_by: str
    version: int
    updated_by: str  # who changed it last ("migration": as the system started)
    updated_at: datetime


class ActivityTypePage(BaseModel):
    items: list[ActivityTypeOut]
    next_cursor: str | None = None  # one county's vocabulary is short: always one page
    total: int


class ActivityTypeIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40)
    active: bool = True


@router.get("/activity-types", response_model=ActivityTypePage)
async def list_activity_types(request: Request, principal: Caller,
                              county_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                              limit: Annotated[int, Query(ge=1, le=500)] = 500,
                              cursor: Annotated[str | None, Query(max_length=200)] = None) -> ActivityTypePage:
    """The county's vocabulary (the caller's county unless another in scope is named). Role
    `service` too: the reports service names the types in its ledgers with its own token."""
    county = commands.vocabulary_county_to_read(principal, county_code, also=("service",))
    if cursor is not None:
        raise RuleViolation("query.cursor", "is not a cursor this list gave")
    async with request.app.state.pool.acquire() as conn:
        rows = await store_activities.activity_types(conn, county)
    return ActivityTypePage(items=[ActivityTypeOut(**dict(row)) for row in rows[:limit]], total=len(rows))


@router.put("/admin/activity-types/{county}/{code}", response_model=ActivityTypeOut,
            responses={412: {"description": "If-Match is stale"}})
async def put_activity_type(request: Request, response: Response, body: ActivityTypeIn,
                            principal: Caller,
                            county: Annotated[str, Path(pattern=r"^(default|\d{12})$")],
                            code: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,39}$")],
                            if_match: IfMatch = None) -> ActivityTypeOut:
    """Adds, renames or switches off a type for a county (its county staff, admin); the
    defaults ("default") are admin's."""
    county_code = commands.vocabulary_county_to_write(principal, county)
    precondition = put_precondition(if_match)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        current = await store_activities.activity_type_row(conn, county_code, code)
        precondition(current["version"] if current is not None else None)
        row = await store_activities.put_activity_type(conn, county_code=county_code, code=code, name=body.name,
                                                       active=body.active, by=principal.subject,
                                                       at=request.app.state.settings.clock.now())
    response.headers["ETag"] = etag(row["version"])
    return ActivityTypeOut(code=row["code"], name=row["name"], active=row["active"], defined_by=county,
                           version=row["version"], updated_by=row["updated_by"], updated_at=row["updated_at"])

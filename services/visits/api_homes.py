"""The 留守儿童之家 register (where, when open, who runs it, what it has) with attendance:
each session is an activity of type home_activity held there. And the activity
statistics: activities held by type and township, who came, children reached."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.visits import store_activities
from services.visits.api_activities import (
    ActivityOut, Code12, Count, activity_out, county_of, place_in_scope, record,
)
from services.visits.domain_activities import HOME_ACTIVITY, NewActivity
from shared.clean_text import CleanInput
from shared.conditional import IfMatch, etag, parse_if_match, stale
from shared.contracts import Jurisdiction
from shared.rules import Refusal, RuleViolation
from shared.routes import Caller, STAFF_ROLES, require_roles
from shared.pagination import decode_cursor, encode_cursor

router = APIRouter(prefix="/v1", tags=["activities"])
HOME_KEEPERS = ("admin", "county_staff", "township_staff")


class HomeIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    township_code: Code12
    village_code: Code12 | None = None
    school_id: str | None = Field(default=None, max_length=64)
    place: str = Field(min_length=1, max_length=200)
    opening_hours: str = Field(min_length=1, max_length=200)  # "每周三、周六 14:00-17:00"
    staff_caregiver_ids: list[UUID] = Field(default_factory=list, max_length=50)
    other_staff: str | None = Field(default=None, max_length=200)
    equipment: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(default_factory=list,
                                                                                max_length=100)
    active: bool = True


class HomeOut(BaseModel):
    id: UUID
    name: str
    township_code: str
    village_code: str | None
    school_id: str | None
    place: str
    opening_hours: str
    staff_caregiver_ids: list[UUID]
    other_staff: str | None
    equipment: list[str]
    active: bool
    version: int
    sessions: int | None = None
    last_session_on: date | None = None


class HomePage(BaseModel):
    items: list[HomeOut]
    next_cursor: str | None
    total: int


class AttendanceIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = None  # the client's own: sending it again records nothing new
    held_on: date
    title: str = Field(default="之家活动", min_length=1, max_length=100)
    child_ids: list[UUID] = Field(default_factory=list, max_length=500)
    other_children: Count = 0
    guardians: Count = 0
    others: Count = 0


def _home_out(row: asyncpg.Record) -> HomeOut:
    fields = {name: row[name] for name in HomeOut.model_fields if name in row.keys()}
    return HomeOut(**{**fields, "staff_caregiver_ids": list(row["staff_caregiver_ids"]),
                      "equipment": list(row["equipment"])})


def _home_values(body: HomeIn) -> dict:
    return {"name": body.name, "county_code": county_of(body.township_code), "township_code": body.township_code,
            "village_code": body.village_code, "school_id": body.school_id, "place": body.place,
            "opening_hours": body.opening_hours, "staff_caregiver_ids": body.staff_caregiver_ids,
            "other_staff": body.other_staff, "equipment": body.equipment, "active": body.active}


@router.post("/childrens-homes", response_model=HomeOut, status_code=status.HTTP_201_CREATED)
async def create_home(body: HomeIn, request: Request, response: Response,
                      principal: Caller) -> HomeOut:
    require_roles(principal, *HOME_KEEPERS)
    place_in_scope(principal, body.township_code, body.village_code)
    now = request.app.state.settings.clock.now()
    async with request.app.state.pool.acquire() as conn:
        row = await store_activities.insert_home(conn, {
            "id": uuid.uuid4(), **_home_values(body), "created_by": principal.subject, "created_at": now,
            "updated_at": now})
    response.headers["ETag"] = etag(row["version"])
    return _home_out(row)


@router.put("/childrens-homes/{home_id}", response_model=HomeOut,
            responses={412: {"description": "If-Match is stale"}})
async def update_home(home_id: UUID, body: HomeIn, request: Request, response: Response,
                      principal: Caller,
                      if_match: IfMatch = None) -> HomeOut:
    """The whole register entry again (opening hours changed, new equipment, closed)."""
    require_roles(principal, *HOME_KEEPERS)
    place_in_scope(principal, body.township_code, body.village_code)
    expected = parse_if_match(if_match)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        current = await store_activities.get_home(conn, home_id, principal.scope_prefix, for_update=True)
        if current is None:
            raise Refusal(404, "not_found", "no such children's home")
        if expected is not None and expected != current["version"]:
            raise stale(current["version"])
        row = await store_activities.update_home(conn, home_id, {
            **_home_values(body), "updated_at": request.app.state.settings.clock.now()})
    response.headers["ETag"] = etag(row["version"])
    return _home_out(row)


@router.get("/childrens-homes", response_model=HomePage)
async def list_homes(request: Request, principal: Caller,
                     township_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     cursor: Annotated[str | None, Query(max_length=200)] = None) -> HomePage:
    require_roles(principal, *STAFF_ROLES)
    after = decode_cursor(cursor, UUID)[0] if cursor else None
    async with request.app.state.pool.acquire() as conn:
        rows = await store_activities.list_homes(conn, scope_prefix=principal.scope_prefix,
                                                 township_code=township_code, after=after, limit=limit + 1)
        total = await store_activities.count_homes(conn, scope_prefix=principal.scope_prefix,
                                                   township_code=township_code)
    page = rows[:limit]
    return HomePage(items=[_home_out(row) for row in page], total=total,
                    next_cursor=encode_cursor([page[-1]["id"]]) if len(rows) > limit else None)


@router.post("/childrens-homes/{home_id}/attendance", response_model=ActivityOut,
             status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "this id was recorded before: the stored session", "model": ActivityOut}})
async def record_attendance(home_id: UUID, body: AttendanceIn, request: Request, response: Response,
                            principal: Caller) -> ActivityOut:
    """One opening of the home: who came. Recorded as an activity of type home_activity."""
    require_roles(principal, *STAFF_ROLES)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        home = await store_activities.get_home(conn, home_id, principal.scope_prefix)
        if home is None:
            raise Refusal(404, "not_found", "no such children's home")
        if not home["active"]:
            raise RuleViolation("home", "the children's home is closed", status_code=409)
        activity = NewActivity(
            id=body.id or uuid.uuid4(), activity_type=HOME_ACTIVITY, held_on=body.held_on,
            jurisdiction=Jurisdiction(county_code=home["county_code"], township_code=home["township_code"],
                                      village_code=home["village_code"]),
            child_ids=tuple(body.child_ids), school_id=home["school_id"], home_id=home_id,
            other_children=body.other_children, guardians=body.guardians, others=body.others)
        row, created = await record(conn, request, principal, activity, {
            "title": body.title, "place": home["name"], "host_caregiver_ids": list(home["staff_caregiver_ids"]),
            "other_hosts": home["other_staff"]})
        child_ids = await store_activities.attendees(conn, row["id"])
    if not created:
        response.status_code = status.HTTP_200_OK
    return activity_out(row, child_ids)


class TypeFigures(BaseModel):
    activities: int = 0
    registered_children: int = 0
    other_children: int = 0
    guardians: int = 0
    others: int = 0


class ActivityStatistics(BaseModel):
    held_from: date
    held_to: date
    activities_total: int
    by_type: dict[str, TypeFigures]
    by_township: dict[str, int]
    home_sessions: int
    children_reached: int  # distinct children of the registry who attended at least once


@router.get("/activity-statistics", response_model=ActivityStatistics)
async def activity_statistics(request: Request, principal: Caller,
                              held_from: Annotated[date | None, Query(alias="from")] = None,
                              held_to: Annotated[date | None, Query(alias="to")] = None) -> ActivityStatistics:
    """Default period: the current calendar month in the county. Counts only."""
    require_roles(principal, *STAFF_ROLES)
    today = request.app.state.settings.clock.today()
    start, end = held_from or today.replace(day=1), held_to or today
    if end < start:
        raise RuleViolation("query.to", "must not be before from")
    async with request.app.state.pool.acquire() as conn:
        rows = await store_activities.activity_totals(conn, scope_prefix=principal.scope_prefix,
                                                      school_id=principal.school_scope, held_from=start, held_to=end)
        reached = await store_activities.children_reached(conn, scope_prefix=principal.scope_prefix,
                                                          school_id=principal.school_scope, held_from=start,
                                                          held_to=end)
    by_type: dict[str, TypeFigures] = {}
    by_township: dict[str, int] = {}
    for row in rows:
        figures = by_type.setdefault(row["activity_type"], TypeFigures())
        for name in TypeFigures.model_fields:
            setattr(figures, name, getattr(figures, name) + int(row[name]))
        by_township[row["township_code"]] = by_township.get(row["township_code"], 0) + row["activities"]
    return ActivityStatistics(held_from=start, held_to=end, activities_total=sum(by_township.values()),
                              by_type=by_type, by_township=by_township, children_reached=reached,
                              home_sessions=sum(int(row["home_sessions"]) for row in rows))


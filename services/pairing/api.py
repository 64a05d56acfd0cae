"""Routes on the child projection: a child as pairing knows it, the unpaired queue (the
work list) and the statistics (coverage, caregiver activity)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.pairing import store, store_pairings, store_stats
from services.pairing.api_models import CaregiverActivity, Coverage, UnpairedQueue
from shared.pagination import Page, PageRequest, Paging, paged
from shared.scope import narrowed_prefix, require_school_filter
from shared.contracts import Jurisdiction
from shared import as_of as as_of_rule
from shared.rules import Refusal, RuleViolation
from shared.routes import Caller, require_staff

router = APIRouter(prefix="/v1", tags=["children"])

_CODE12 = r"^\d{12}$"


class PairableChildOut(BaseModel):
    id: UUID
    jurisdiction: Jurisdiction
    school_id: str | None
    priority: bool
    age_band: str
    status: str
    record_version: int


def _jurisdiction(row: Any) -> dict[str, Any]:
    return {"county_code": row["county_code"], "township_code": row["township_code"],
            "village_code": row["village_code"]}


@router.get("/children/{child_id}", response_model=PairableChildOut)
async def read_pairable_child(child_id: UUID, request: Request,
                              principal: Caller) -> PairableChildOut:
    """The child as pairing knows it (from the registry's events)."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        row = await store.get_child_in_scope(conn, child_id, principal.scope_prefix,
                                             school_id=principal.school_scope)
    if row is None:
        raise Refusal(404, "not_found", "no such child")
    return PairableChildOut(
        id=row["id"], jurisdiction=Jurisdiction(**_jurisdiction(row)), school_id=row["school_id"],
        priority=row["priority"], age_band=row["age_band"], status=row["status"],
        record_version=row["record_version"])


@router.get("/queue/unpaired", response_model=UnpairedQueue)
async def unpaired_queue(request: Request, principal: Caller,
                         page: Annotated[PageRequest, Depends(paged(default=100, maximum=1000))],
                         jurisdiction: Annotated[str | None, Query(pattern=_CODE12)] = None,
                         school_id: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    """Active children with nobody paired: priority children first, then the longest waiting.
    A school head's token (school_staff with a school) sees its own school's queue only;
    another school or a place outside the caller's scope is refused (403)."""
    require_staff(principal)
    prefix = narrowed_prefix(principal, jurisdiction)
    require_school_filter(principal, "school_id", school_id)
    school_id = principal.school_scope or school_id
    async with request.app.state.pool.acquire() as conn:
        rows = await store_pairings.unpaired_children(conn, prefix, school_id=school_id, limit=page.fetch,
                                                      after=page.after(bool, datetime, UUID))
        total = await store_stats.count_unpaired(conn, prefix, school_id)
    return page.keyset(rows, key=lambda row: (row["priority"], row["first_seen_at"], row["id"]), total=total, items=[
        {"child_id": row["id"], "jurisdiction": _jurisdiction(row), "school_id": row["school_id"],
         "priority": row["priority"], "age_band": row["age_band"], "waiting_since": row["first_seen_at"]}
        for row in rows])


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _coverage_figures(row: Any) -> dict[str, Any]:
    return {"active_children": row["active"], "paired": row["paired"], "coverage": _share(row["paired"], row["active"]),
            "priority_active": row["priority_active"], "priority_paired": row["priority_paired"],
            "priority_coverage": _share(row["priority_paired"], row["priority_active"])}


@router.get("/statistics/coverage", response_model=Coverage)
async def coverage(request: Request, principal: Caller,
                   jurisdiction: Annotated[str | None, Query(pattern=_CODE12)] = None,
                   as_of: Annotated[date | None, Query(description="as it stood at the end of this day (the "
                                                             "county's); none: now")] = None) -> dict[str, Any]:
    """帮扶覆盖面: the share of active children with an active pairing, in total, by township
    and by school; priority children separately. Now, or as of a past day; a school's staff
    see their school's."""
    require_staff(principal)
    prefix = narrowed_prefix(principal, jurisdiction)
    school_id = principal.school_scope
    async with request.app.state.pool.acquire() as conn:
        if as_of is None:
            rows = await store_stats.coverage(conn, prefix, school_id)
        else:
            clock = request.app.state.settings.clock
            first = as_of_rule.first_day(await store_stats.first_recorded(conn), clock)
            as_of_rule.check_day(as_of, field="query.as_of", today=clock.today(), first=first)
            rows = await store_stats.coverage_as_of(conn, prefix, school_id, as_of_rule.end_of(as_of, clock), as_of)
    result: dict[str, Any] = {"total": None, "by_township": [], "by_school": [], "as_of": as_of}
    for row in rows:
        if row["grouping"] == 3:
            result["total"] = _coverage_figures(row)
        elif row["grouping"] == 1:
            result["by_township"].append({"township_code": row["township_code"], **_coverage_figures(row)})
        else:
            result["by_school"].append({"school_id": row["school_id"], **_coverage_figures(row)})
    if result["total"] is None:
        result["total"] = {"active_children": 0, "paired": 0, "coverage": None, "priority_active": 0,
                           "priority_paired": 0, "priority_coverage": None}
    return result


@router.get("/statistics/caregiver-activity", response_model=Page[CaregiverActivity])
async def caregiver_activity(request: Request, principal: Caller,
                             page: Paging,
                             since: Annotated[date, Query(alias="from")],
                             until: Annotated[date, Query(alias="to", description="exclusive")],
                             jurisdiction: Annotated[str | None, Query(pattern=_CODE12)] = None,
                             school_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                             caregiver_id: UUID | None = None) -> dict[str, Any]:
    """For the yearly evaluation (评比考核): per caregiver, contacts logged (from visits'
    VisitLogged) by kind in [from, to), and how many children were paired with them. A
    school's staff see their school's caregivers (the caregivers' names: `POST
    /v1/caregivers/names`)."""
    require_staff(principal)
    if until <= since:
        raise RuleViolation("query.to", "after from")
    prefix = narrowed_prefix(principal, jurisdiction)
    require_school_filter(principal, "school_id", school_id)
    clock = request.app.state.settings.clock
    start, end = clock.start_of(since), clock.start_of(until)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_stats.caregiver_activity(conn, prefix, start, end, caregiver_id, clock.county_timezone,
                                                    school_id=principal.school_scope or school_id)
    return page.of_sequence([
        {"caregiver_id": row["id"], "kind": row["kind"], "township_code": row["township_code"],
         "school_id": row["school_id"], "active": row["active"], "children_paired": row["children_paired"],
         "contacts": row["contacts"], "contacts_total": sum(row["contacts"].values()),
         "contacts_by_month": row["contacts_by_month"]} for row in rows])

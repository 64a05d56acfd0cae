"""Work lists: what a caregiver owes (GET /v1/me/duties) and what a township or school
is behind on (GET /v1/duties)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.visits import store_duties
from services.visits.domain_duties import level_name
from shared.pagination import Page, PageRequest, paged
from shared.scope import require_division_filter, require_school_filter
from shared.routes import Caller, caregiver_of, require_staff
from shared.rules import Refusal

router = APIRouter(prefix="/v1", tags=["duties"])

DutyState = Literal["overdue", "due_soon", "open", "fulfilled", "all"]


class DutyOut(BaseModel):
    id: UUID
    child_id: UUID
    caregiver_id: UUID
    duty_kind: str
    period_start: date
    due_on: date
    status: str
    state: Literal["upcoming", "open", "due_soon", "overdue", "fulfilled", "cancelled"]
    days_overdue: int
    escalation_level: str | None
    township_code: str
    school_id: str | None
    fulfilled_by: UUID | None
    # What the duty is owed on, so a work list can open it where it is done (the caregiver
    # app: a plan's review on the plan, a follow-up with its action and a done button).
    plan_id: UUID | None = Field(default=None, description="A plan_review: the plan to review.")
    contact_id: UUID | None = Field(default=None, description="A follow_up: the contact it was written on.")


def duty_out(row: asyncpg.Record, today: date, due_soon_days: int) -> DutyOut:
    days_overdue = 0
    if row["status"] != "open":
        state = row["status"]
    elif row["due_on"] < today:
        state, days_overdue = "overdue", (today - row["due_on"]).days
    elif row["period_start"] > today:
        state = "upcoming"
    elif row["due_on"] <= today + timedelta(days=due_soon_days):
        state = "due_soon"
    else:
        state = "open"
    level = level_name(row["overdue_level"], row["school_id"]) if row["overdue_level"] else None
    return DutyOut(id=row["id"], child_id=row["child_id"], caregiver_id=row["caregiver_id"],
                   duty_kind=row["duty_kind"], period_start=row["period_start"], due_on=row["due_on"],
                   status=row["status"], state=state, days_overdue=days_overdue, escalation_level=level,
                   township_code=row["township_code"], school_id=row["school_id"], fulfilled_by=row["fulfilled_by"],
                   plan_id=row.get("plan_id"), contact_id=row.get("contact_id"))


async def _duties(request: Request, page: PageRequest, *, scope_prefix: str | None, caregiver_id: UUID | None,
                  child_id: UUID | None, township_code: str | None, state: str,
                  school_ids: tuple[str, ...] = ()) -> dict[str, Any]:
    settings = request.app.state.settings
    today = settings.clock.today()
    async with request.app.state.pool.acquire() as conn:
        rows = await store_duties.list_duties(
            conn, scope_prefix=scope_prefix, caregiver_id=caregiver_id, child_id=child_id,
            township_code=township_code, state=state, today=today,
            due_soon_until=today + timedelta(days=settings.due_soon_days), limit=page.fetch,
            after=page.after(date, UUID), school_ids=school_ids)
    return page.keyset(rows, key=lambda row: (row["due_on"], row["id"]),
                       items=[duty_out(row, today, settings.due_soon_days) for row in rows])


DutyPaging = Annotated[PageRequest, Depends(paged(default=200, maximum=1000))]


@router.get("/me/duties", response_model=Page[DutyOut])
async def my_duties(request: Request, principal: Caller,
                    page: DutyPaging, state: DutyState = "open") -> dict[str, Any]:
    """The caller's own duties (a caregiver token with a caregiver_id claim), soonest due first."""
    me = caregiver_of(principal)
    if me is None:
        raise Refusal(403, "forbidden", "a caregiver token is needed")
    return await _duties(request, page, scope_prefix=None, caregiver_id=me, child_id=None, township_code=None,
                         state=state)


@router.get("/duties", response_model=Page[DutyOut])
async def duties(request: Request, principal: Caller,
                 page: DutyPaging,
                 township_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                 school_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                 caregiver_id: UUID | None = None, child_id: UUID | None = None,
                 state: DutyState = "overdue") -> dict[str, Any]:
    """A township's (or school's, or county's) work list, soonest due first, within the
    caller's jurisdiction; a school_staff token with a school is confined to that school's
    duties. A township or school outside the caller's scope is refused (403)."""
    require_staff(principal)
    require_division_filter(principal, "township_code", township_code)
    require_school_filter(principal, "school_id", school_id)
    schools = tuple(dict.fromkeys(s for s in (principal.school_scope, school_id) if s is not None))
    return await _duties(request, page, scope_prefix=principal.scope_prefix, caregiver_id=caregiver_id,
                         child_id=child_id, township_code=township_code, state=state, school_ids=schools)

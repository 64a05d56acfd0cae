"""Statistics for the periodic work summary (工作总结): contacts by kind, township and
month; the share of active children seen in the last 30 days; overdue duties; caregiver
activity. Counts only, within the caller's jurisdiction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel

from services.visits import store_stats
from services.visits.api_common import require_staff
from shared.auth import Principal, require_principal
from shared.rules import RuleViolation

router = APIRouter(prefix="/v1", tags=["statistics"])


class CaregiverActivity(BaseModel):
    caregiver_id: UUID
    contacts: int
    children: int
    last_contact_at: datetime


class Coverage(BaseModel):
    active_children: int
    seen_in_last_30_days: int
    share: float


class Statistics(BaseModel):
    period_from: datetime
    period_to: datetime
    contacts_total: int
    contacts_by_kind: dict[str, int]
    contacts_by_township: dict[str, int]
    contacts_by_month: dict[str, int]
    coverage: Coverage
    overdue_total: int
    overdue_by_township: dict[str, int]
    overdue_by_kind: dict[str, int]
    caregiver_activity: list[CaregiverActivity]


@router.get("/statistics", response_model=Statistics)
async def statistics(request: Request, principal: Annotated[Principal, Depends(require_principal)],
                     period_from: Annotated[AwareDatetime | None, Query(alias="from")] = None,
                     period_to: Annotated[AwareDatetime | None, Query(alias="to")] = None,
                     top_caregivers: Annotated[int, Query(ge=0, le=500)] = 50) -> Statistics:
    """Default period: the current calendar month in the county's time zone."""
    require_staff(principal)
    settings = request.app.state.settings
    clock = settings.clock
    now = clock.now()
    start = period_from or clock.start_of(clock.today().replace(day=1))
    end = period_to or now
    if end <= start:
        raise RuleViolation("query.to", "must be after from")
    scope = principal.scope_prefix
    async with request.app.state.pool.acquire() as conn:
        by_kind = await store_stats.contacts_by(conn, "kind", scope, start, end)
        by_township = await store_stats.contacts_by(conn, "township_code", scope, start, end)
        by_month = await store_stats.contacts_by_month(conn, scope, start, end, settings.county_timezone)
        children, seen = await store_stats.coverage(conn, scope, now - timedelta(days=30), now)
        overdue = await store_stats.overdue_counts(conn, scope, clock.today())
        activity = await store_stats.caregiver_activity(conn, scope, start, end, top_caregivers)
    overdue_by_township: dict[str, int] = {}
    overdue_by_kind: dict[str, int] = {}
    for row in overdue:
        overdue_by_township[row["township_code"]] = overdue_by_township.get(row["township_code"], 0) + row["n"]
        overdue_by_kind[row["duty_kind"]] = overdue_by_kind.get(row["duty_kind"], 0) + row["n"]
    return Statistics(
        period_from=start, period_to=end, contacts_total=sum(by_kind.values()), contacts_by_kind=by_kind,
        contacts_by_township=by_township, contacts_by_month=by_month,
        coverage=Coverage(active_children=children, seen_in_last_30_days=seen,
                          share=round(seen / children, 4) if children else 0.0),
        overdue_total=sum(overdue_by_kind.values()), overdue_by_township=overdue_by_township,
        overdue_by_kind=overdue_by_kind,
        caregiver_activity=[CaregiverActivity(**dict(row)) for row in activity])

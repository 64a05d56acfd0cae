"""Statistics for the periodic work summary (工作总结): contacts by kind, township and
month; the share of active children seen in the period (or the last 30 days); duties due,
done and overdue; caregiver activity. Counts only, within the caller's jurisdiction (and a
school's staff's school), now or as of a past day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from services.visits import store_stats
from shared import as_of as as_of_rule
from shared.rules import RuleViolation
from shared.routes import Caller, require_staff

router = APIRouter(prefix="/v1", tags=["statistics"])


class CaregiverActivity(BaseModel):
    caregiver_id: UUID
    contacts: int
    children: int
    last_contact_at: datetime


class Coverage(BaseModel):
    active_children: int
    seen: int = Field(description="active children with at least one contact in the window")
    seen_in_last_30_days: int = Field(description="the same number (its older name); the window is the period "
                                                  "asked for, or the 30 days up to as_of (or now)")
    share: float
    window_from: datetime
    window_to: datetime


class Duties(BaseModel):
    """Duties whose window ends in the period and that were still owed as of `as_of`."""
    due: int
    done: int = Field(description="met by a contact that had taken place by the end of as_of")
    overdue: int = Field(description="their window ended before as_of and they were not met by then")


class Statistics(BaseModel):
    period_from: datetime
    period_to: datetime
    as_of: date = Field(description="the day the duty figures and the active children are taken on")
    contacts_total: int
    contacts_by_kind: dict[str, int]
    contacts_by_township: dict[str, int]
    contacts_by_month: dict[str, int]
    coverage: Coverage
    duties: Duties
    overdue_total: int
    overdue_by_township: dict[str, int]
    overdue_by_kind: dict[str, int]
    caregiver_activity: list[CaregiverActivity]


@router.get("/statistics", response_model=Statistics)
async def statistics(request: Request, principal: Caller,
                     period_from: Annotated[AwareDatetime | None, Query(alias="from")] = None,
                     period_to: Annotated[AwareDatetime | None, Query(alias="to", description="exclusive")] = None,
                     as_of: Annotated[date | None, Query(description="the figures as they stood at the end of this "
                                                               "day (the county's); default: to's day, or today")] = None,
                     top_caregivers: Annotated[int, Query(ge=0, le=500)] = 50) -> Statistics:
    """Default period: the calendar month of `as_of` (today when none) in the county's time
    zone, up to its end or now. Coverage is measured over the period asked for, or over the
    30 days up to `as_of` (or now) when none is. A day before the records began or in the
    future is refused (422)."""
    require_staff(principal)
    settings = request.app.state.settings
    clock = settings.clock
    now = clock.now()
    scope, school = principal.scope_prefix, principal.school_scope
    async with request.app.state.pool.acquire() as conn:
        first = as_of_rule.first_day(await store_stats.first_recorded(conn), clock)
        if as_of is not None:
            as_of_rule.check_day(as_of, field="query.as_of", today=clock.today(), first=first)
        if period_from is not None and period_from > now:
            raise RuleViolation("query.from", "在未来 / is in the future")
        if period_to is not None and (first is None or period_to <= clock.start_of(first)):
            raise RuleViolation("query.to", "早于记录开始之日 / is before the records began"
                                            + (f" ({first.isoformat()})" if first else ""))
        at = as_of_rule.end_of(as_of, clock) if as_of is not None else now
        start = period_from or clock.start_of((as_of or clock.today()).replace(day=1))
        end = period_to or min(at, now)
        if end <= start:
            raise RuleViolation("query.to", "must be after from")
        day = as_of or min(clock.local_day(end - timedelta(microseconds=1)), clock.today())
        at = at if as_of is not None else min(as_of_rule.end_of(day, clock), now)
        window = (start, end) if period_from or period_to else (at - timedelta(days=30), at)
        by_kind = await store_stats.contacts_by(conn, "kind", scope, school, start, end)
        by_township = await store_stats.contacts_by(conn, "township_code", scope, school, start, end)
        by_month = await store_stats.contacts_by_month(conn, scope, school, start, end, settings.county_timezone)
        children, seen = await store_stats.coverage(conn, scope, school, *window,
                                                    at=None if at >= now else at)
        overdue = await store_stats.overdue_counts(conn, scope, school, at, day)
        duties = await store_stats.duties_in_period(conn, scope, school, at, day, clock.local_day(start),
                                                    clock.local_day(end - timedelta(microseconds=1)))
        activity = await store_stats.caregiver_activity(conn, scope, school, start, end, top_caregivers)
    overdue_by_township: dict[str, int] = {}
    overdue_by_kind: dict[str, int] = {}
    for row in overdue:
        overdue_by_township[row["township_code"]] = overdue_by_township.get(row["township_code"], 0) + row["n"]
        overdue_by_kind[row["duty_kind"]] = overdue_by_kind.get(row["duty_kind"], 0) + row["n"]
    return Statistics(
        period_from=start, period_to=end, as_of=day, contacts_total=sum(by_kind.values()),
        contacts_by_kind=by_kind, contacts_by_township=by_township, contacts_by_month=by_month,
        coverage=Coverage(active_children=children, seen=seen, seen_in_last_30_days=seen,
                          share=round(seen / children, 4) if children else 0.0,
                          window_from=window[0], window_to=window[1]),
        duties=Duties(due=duties["due"], done=duties["done"], overdue=duties["overdue"]),
        overdue_total=sum(overdue_by_kind.values()), overdue_by_township=overdue_by_township,
        overdue_by_kind=overdue_by_kind,
        caregiver_activity=[CaregiverActivity(**dict(row)) for row in activity])

"""The assessment (考核): per school, caregiver or township, duties due, done on time,
done late and overdue, coverage, and a score with the county's weights, ranked."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from pydantic import ConfigDict, Field

from services.reports import commands, domain_assessment, store_assessment
from services.reports.domain import Window
from shared.pagination import Paging
from shared.clean_text import CleanInput
from shared.routes import Caller, require_staff, settings_of
from shared.rules import Refusal, RuleViolation

router = APIRouter(prefix="/v1", tags=["assessment"])



class WeightsIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    scope_code: str = Field(pattern=r"^\d{12}$", description="the county (or township) the weights apply in")
    on_time: float = Field(ge=0, le=100)
    late: float = Field(ge=0, le=100)
    overdue: float = Field(ge=0, le=100, description="weight of having nothing left overdue")
    coverage: float = Field(ge=0, le=100)


@router.put("/assessment/weights")
async def set_weights(body: WeightsIn, request: Request, principal: Caller) -> dict[str, Any]:
    """The county sets how the score weighs each share (目标责任制); a township may set its own."""
    if not principal.has_role("admin", "county_staff", "township_staff"):
        raise Refusal(403, "forbidden", "county or township staff only")
    if not principal.covers(body.scope_code):
        raise Refusal(403, "forbidden", "the scope is outside your jurisdiction")
    if body.on_time + body.late + body.overdue + body.coverage <= 0:
        raise RuleViolation("body.on_time", "at least one weight above zero")
    async with request.app.state.pool.acquire() as conn:
        row = await store_assessment.set_weights(conn, updated_by=principal.subject, **body.model_dump())
    return {**dict(row), "updated_at": row["updated_at"].isoformat()}


@router.get("/assessment/weights")
async def get_weights(request: Request, principal: Caller,
                      scope: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None) -> dict[str, Any]:
    require_staff(principal)
    where = commands.resolve_scope(principal, scope)
    async with request.app.state.pool.acquire() as conn:
        weights = await store_assessment.weights_for(conn, where.code)
    return {"scope_code": where.code, **weights.as_dict()}


@router.get("/assessment")
async def assessment(request: Request, principal: Caller,
                     since: Annotated[date, Query(alias="from")], until: Annotated[date, Query(alias="to")],
                     page: Paging,
                     by: Literal["school", "caregiver", "township"] = "school",
                     scope: Annotated[str | None, Query(max_length=64)] = None,
                     as_of: date | None = None) -> dict[str, Any]:
    """Per school, caregiver or township in the scope: duties due in the period, done on
    time, done late, overdue as of `as_of`; coverage (schools and townships); the score
    with the weights in force for the scope, and the rank (best first). The ranked rows
    page like every list (`items`, `next_cursor`, `total`); ranks are over the whole scope."""
    require_staff(principal)
    where = commands.resolve_scope(principal, scope)
    zone_name = request.app.state.settings.county_timezone
    async with request.app.state.pool.acquire() as conn:
        period, as_of_day, _ = await commands.checked_period(conn, settings_of(request), since, until, as_of)
        window = Window.of(period, as_of_day, ZoneInfo(zone_name))
        rows = await store_assessment.duty_outcomes(conn, where.prefix, where.school_id, window, zone_name, by)
        coverage = ({} if by == "caregiver" else
                    await store_assessment.coverage(conn, where.prefix, where.school_id, window, by))
        weights = await store_assessment.weights_for(conn, where.code)
    ranked = domain_assessment.rank(rows, coverage, weights)
    return {"scope": {"code": where.code, "school_id": where.school_id}, "by": by,
            "period": {"from": period.start.isoformat(), "to": period.end.isoformat(), "as_of": as_of_day.isoformat()},
            "weights": weights.as_dict(), **page.of_sequence(ranked)}

"""The end-of-year grade promotion (升年级): every open record of a place moves up one
grade, once per school year and place, each as a new version with its ChildUpdated event."""

from __future__ import annotations


from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.registry import grades, store
from services.registry.models import _In
from shared import outbox
from shared.rules import Refusal, RuleViolation
from shared.routes import Caller, require_staff, today

router = APIRouter(prefix="/v1", tags=["children"])
PROMOTING_ROLES = ("admin", "county_staff", "township_staff")


class PromotionIn(_In):
    school_year: int = Field(ge=2000, le=2100, description="the school year that ends (2025 for 2025-2026)")
    township_code: str | None = Field(default=None, pattern=r"^\d{12}$", description="only this township")
    school_id: str | None = Field(default=None, max_length=64, description="only this school")


class PromotionOut(BaseModel):
    promoted: int = Field(description="records moved up one grade")
    leaving: int = Field(description="records in a last grade (九年级/初三, 高三): not promoted")


@router.post("/children/grade-promotion", response_model=PromotionOut)
async def promote(body: PromotionIn, request: Request, principal: Caller) -> JSONResponse:
    """Moves every open record of the caller's place (or the township or school given) up
    one grade (三年级 → 四年级, 初一 → 初二, 大班 → 一年级). A second promotion of the same place
    for the same school year is refused (409): nothing is promoted twice."""
    require_staff(principal)
    if not principal.has_role(*PROMOTING_ROLES):
        raise Refusal(403, "forbidden", "由乡镇或县级工作人员升年级 / township or county staff promote")
    scope = principal.scope_prefix
    if body.township_code is not None:
        if not principal.covers(body.township_code):
            raise RuleViolation("body.township_code", "不在您的管辖范围内 / outside your jurisdiction", 403)
        scope = body.township_code[:9]
    place = f"{scope}:{body.school_id or '*'}"
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            rows = await store.promote_grades(conn, scope, school_id=body.school_id, next_grade=grades.NEXT_GRADE)
            if not await store.record_promotion(conn, scope=place, school_year=body.school_year, promoted=len(rows),
                                                promoted_by=principal.subject):
                raise RuleViolation("body.school_year", "本学年已升过年级 / already promoted for this school year", 409)
            await outbox.add_many(conn, grades.promotion_events(rows, today(request)))
            leaving = await store.count_in_grades(conn, scope, school_id=body.school_id, grades=grades.LAST_GRADES)
    return JSONResponse({"promoted": len(rows), "leaving": leaving})

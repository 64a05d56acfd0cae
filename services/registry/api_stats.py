"""Statistics by township, school, category, gender, left-behind type and age band, and
completeness: who has not reported, and the registration rate (建档率)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from services.registry import privacy, store, store_stats, vocabulary
from services.registry.models import ExpectedCountIn
from services.registry.models_out import Completeness, ExpectedCount, ExpectedCounts, Statistics
from shared.pagination import Paging
from shared.rules import Refusal, RuleViolation
from shared import as_of as as_of_rule, outbox
from shared.contracts import ExpectedCountSet
from shared.purpose import StatedPurpose, clear_purpose
from shared.routes import Caller, cipher_of, require_staff
from services.registry.division_cache import divisions_of

router = APIRouter(prefix="/v1", tags=["statistics"])
Dimension = Literal["township", "school", "category", "gender", "left_behind_type", "age_band", "status",
                    "priority", "sensitive_category", "school_status"]
PUBLIC_DIMENSIONS = ("township", "school", "category", "gender", "left_behind_type", "age_band")
# Which vocabulary names a dimension's keys (townships are named by the division register).
_LABELS = {"category": vocabulary.CATEGORY, "gender": vocabulary.GENDER, "left_behind_type": vocabulary.LEFT_BEHIND_TYPE,
           "status": vocabulary.STATUS, "sensitive_category": vocabulary.SENSITIVE_CATEGORY,
           "school_status": vocabulary.SCHOOL_STATUS}


async def _label(request: Request, conn, dimension: str, entries: list[dict]) -> list[dict]:
    """Each count with the Chinese name of its key: 新铺镇, 双亲外出, 男…"""
    if dimension == "township":
        cache = divisions_of(request)
        await cache.load(conn, (entry["key"] for entry in entries))
        for entry in entries:
            entry["label"] = cache.county(entry["key"]).name_of(entry["key"]) if entry["key"] else None
    elif dimension in _LABELS:
        for entry in entries:
            entry["label"] = _LABELS[dimension].label(entry["key"])
    return entries


@router.get("/statistics", response_model=Statistics, response_model_exclude_none=True)
async def statistics(request: Request, principal: Caller, stated: StatedPurpose,
                     by: Annotated[list[Dimension] | None, Query()] = None,
                     status_filter: Annotated[Literal["current", "active", "transferred", "closed"],
                                              Query(alias="status")] = "current",
                     as_of: Annotated[date | None, Query(description="counts as recorded by the end of this "
                                                               "day (the county's); none: now")] = None,
                     ) -> JSONResponse:
    """Counts in the caller's scope, now or as of a past day (from the record's history).
    `by=sensitive_category` needs `view_sensitive` and a stated purpose (`X-Purpose`), and
    is audited; nobody else gets that breakdown, and it is kept for the present only."""
    require_staff(principal)
    dimensions = list(dict.fromkeys(by or PUBLIC_DIMENSIONS))
    purpose = None
    if as_of is not None and "sensitive_category" in dimensions:
        raise RuleViolation("query.by", "按困境类别统计只提供当前数字 / sensitive_category is counted for the "
                                        "present only, not as of a past date")
    if "sensitive_category" in dimensions:
        purpose = clear_purpose(stated, principal)
        if purpose is None:
            raise Refusal(403, "forbidden", "按困境类别统计须有查看敏感信息权限并说明用途 / "
                                "a breakdown by sensitive category needs view_sensitive and a stated purpose")
    result: dict = {}
    school = principal.school_scope  # a school's staff count their school's children
    async with request.app.state.pool.acquire() as conn:
        if as_of is not None:
            at = await _checked_as_of(request, conn, as_of)
            result["total"] = await store_stats.total_as_of(conn, principal.scope_prefix, status_filter, at, school)
            for dimension in dimensions:
                result[dimension] = await _label(request, conn, dimension, await store_stats.counts_by_as_of(
                    conn, principal.scope_prefix, dimension, status_filter, at, as_of, school))
            return JSONResponse({"status": status_filter, **result, "as_of": as_of.isoformat()})
        async with conn.transaction(isolation="repeatable_read"):
            result["total"] = await store_stats.total(conn, principal.scope_prefix, status_filter, school)
            for dimension in dimensions:
                if dimension != "sensitive_category":
                    result[dimension] = await _label(request, conn, dimension, await store_stats.counts_by(
                        conn, principal.scope_prefix, dimension, status_filter, school))
            if purpose is not None:
                rows = await store_stats.sensitive_tokens(conn, principal.scope_prefix, status_filter, school)
                cipher = cipher_of(request)
                counted: Counter[str] = Counter()
                for row in rows:
                    counted.update(json.loads(cipher.decrypt(row["sensitive_enc"],
                                                             context=privacy.context("sensitive", row["id"]))))
                result["sensitive_category"] = await _label(request, conn, "sensitive_category", [
                    {"key": k, "count": n} for k, n in sorted(counted.items())])
                await store.record_sensitive_read(
                    conn, subject=principal.subject, roles=sorted(principal.roles), action="statistics",
                    record_ids=[row["id"] for row in rows], fields=["sensitive_categories"], purpose=purpose)
    return JSONResponse({"status": status_filter, **result})


async def _checked_as_of(request: Request, conn, day: date) -> datetime:
    """The instant `day` ends, if the registry has figures for it; else 422 on query.as_of."""
    clock = request.app.state.settings.clock
    first = as_of_rule.first_day(await store_stats.first_recorded(conn), clock)
    as_of_rule.check_day(day, field="query.as_of", today=clock.today(), first=first)
    return as_of_rule.end_of(day, clock)


@router.get("/statistics/completeness", response_model=Completeness, response_model_exclude_none=True)
async def completeness(request: Request, principal: Caller,
                       as_of: Annotated[date | None, Query(description="the expected counts and the records "
                                                                 "in effect at the end of this day")] = None,
                       ) -> JSONResponse:
    """Against the configured expected counts: each township and school with its registered
    children and 建档率, and which have not reported at all (none registered); now, or as
    of a past day (the counts and records then in effect)."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        if as_of is None:
            rows = await store_stats.completeness(conn, principal.scope_prefix, principal.school_scope)
        else:
            rows = await store_stats.completeness_as_of(
                conn, principal.scope_prefix, await _checked_as_of(request, conn, as_of), principal.school_scope)
        places = divisions_of(request)
        await places.load(conn, (row["township_code"] for row in rows))
    entries = {"township": [], "school": []}
    for row in rows:
        rate = round(row["registered"] / row["expected"], 4) if row["expected"] else None
        entries[row["kind"]].append({"code": row["code"], "township_code": row["township_code"],
                                     "township_name": places.county(row["township_code"]).name_of(row["township_code"]),
                                     "expected": row["expected"], "registered": row["registered"], "rate": rate})
    expected_total = sum(e["expected"] for e in entries["township"])
    registered_total = sum(e["registered"] for e in entries["township"])
    return JSONResponse({
        **({"as_of": as_of.isoformat()} if as_of else {}),
        "townships": entries["township"], "schools": entries["school"],
        "not_reported": {"townships": [e["code"] for e in entries["township"] if e["registered"] == 0],
                         "schools": [e["code"] for e in entries["school"] if e["registered"] == 0]},
        "expected_total": expected_total, "registered_total": registered_total,
        "rate": round(registered_total / expected_total, 4) if expected_total else None,
    })


@router.put("/expected-counts", response_model=ExpectedCount)
async def set_expected_count(body: ExpectedCountIn, request: Request, principal: Caller) -> JSONResponse:
    """How many children a township or school is expected to register (from the survey)."""
    require_staff(principal)
    if body.kind == "township" and body.code != body.township_code:
        raise RuleViolation("body.code", "乡镇的代码应与所在乡镇代码相同 / a township's code is its township_code")
    if not principal.covers(body.township_code):
        raise Refusal(403, "forbidden", "该乡镇不在您的管辖范围内 / the township is outside your jurisdiction")
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await store_stats.set_expected(conn, kind=body.kind, code=body.code, township_code=body.township_code,
                                       expected=body.expected, updated_by=principal.subject,
                                       recorded_at=request.app.state.settings.clock.now())
        # Published, so that 建档率 can be computed elsewhere as of any date (the reports).
        await outbox.add(conn, ExpectedCountSet(kind=body.kind, code=body.code, township_code=body.township_code,
                                                expected=body.expected))
    return JSONResponse(body.model_dump())


@router.get("/expected-counts", response_model=ExpectedCounts)
async def list_expected_counts(request: Request, principal: Caller, page: Paging) -> JSONResponse:
    """By kind (school, township), then code."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_stats.expected_in_scope(conn, principal.scope_prefix, limit=page.fetch,
                                                   after=page.after(str, str))
    return JSONResponse(page.keyset(rows, key=lambda r: (r["kind"], r["code"]), items=[
        {"kind": r["kind"], "code": r["code"], "township_code": r["township_code"], "expected": r["expected"]}
        for r in rows]))

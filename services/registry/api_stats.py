"""Statistics by township, school, category, gender, left-behind type and age band, and
completeness: who has not reported, and the registration rate (建档率)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse

from services.registry import privacy, store, store_stats, vocabulary
from services.registry.api_common import StatedPurpose, cipher_of, divisions_of, require_staff, unmask_purpose
from services.registry.models import ExpectedCountIn
from services.registry.models_out import Completeness, ExpectedCount, ExpectedCounts, Statistics
from shared.rules import RuleViolation
from shared import outbox
from shared.auth import Principal, require_principal
from shared.contracts import ExpectedCountSet

router = APIRouter(prefix="/v1", tags=["statistics"])
Caller = Annotated[Principal, Depends(require_principal)]
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
                                              Query(alias="status")] = "current") -> JSONResponse:
    """Counts in the caller's scope. `by=sensitive_category` needs `view_sensitive` and a
    stated purpose (`X-Purpose`), and is audited; nobody else gets that breakdown."""
    require_staff(principal)
    dimensions = list(dict.fromkeys(by or PUBLIC_DIMENSIONS))
    purpose = None
    if "sensitive_category" in dimensions:
        purpose = unmask_purpose(stated, principal)
        if purpose is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "按困境类别统计须有查看敏感信息权限并说明用途 / "
                                "a breakdown by sensitive category needs view_sensitive and a stated purpose")
    result: dict = {}
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction(isolation="repeatable_read"):
            result["total"] = await store_stats.total(conn, principal.scope_prefix, status_filter)
            for dimension in dimensions:
                if dimension != "sensitive_category":
                    result[dimension] = await _label(request, conn, dimension, await store_stats.counts_by(
                        conn, principal.scope_prefix, dimension, status_filter))
            if purpose is not None:
                rows = await store_stats.sensitive_tokens(conn, principal.scope_prefix, status_filter)
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


@router.get("/statistics/completeness", response_model=Completeness)
async def completeness(request: Request, principal: Caller) -> JSONResponse:
    """Against the configured expected counts: each township and school with its registered
    children and 建档率, and which have not reported at all (none registered)."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_stats.completeness(conn, principal.scope_prefix)
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
        raise HTTPException(status.HTTP_403_FORBIDDEN, "该乡镇不在您的管辖范围内 / the township is outside your jurisdiction")
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await store_stats.set_expected(conn, kind=body.kind, code=body.code, township_code=body.township_code,
                                       expected=body.expected, updated_by=principal.subject)
        # Published, so that 建档率 can be computed elsewhere as of any date (the reports).
        await outbox.add(conn, ExpectedCountSet(kind=body.kind, code=body.code, township_code=body.township_code,
                                                expected=body.expected))
    return JSONResponse(body.model_dump())


@router.get("/expected-counts", response_model=ExpectedCounts)
async def list_expected_counts(request: Request, principal: Caller) -> JSONResponse:
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_stats.expected_in_scope(conn, principal.scope_prefix)
    return JSONResponse({"items": [{"kind": r["kind"], "code": r["code"], "township_code": r["township_code"],
                                    "expected": r["expected"]} for r in rows]})

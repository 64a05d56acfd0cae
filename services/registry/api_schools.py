"""The school register (学校名录): county staff enter and edit their county's schools (name,
学校标识码 where known, township, stage, head), one by one or from an XLSX sheet; every staff
member of the county reads it. Once a county keeps a register, a child's school_id must
name one of its schools (api.py, transfers and imports)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal
from uuid import uuid4

import asyncpg
from fastapi import APIRouter, File, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.registry import school_sheets, store_schools, vocabulary
from services.registry.models import _In
from services.registry.sheets import MAX_UPLOAD_BYTES, SheetRejected
from shared.auth import Principal
from shared.conditional import IfMatch, etag, expected_version, stale
from shared.rules import Refusal, RuleViolation
from services.registry.division_cache import divisions_of
from shared.routes import Caller, require_staff

router = APIRouter(prefix="/v1/schools", tags=["schools"])
MANAGING_ROLES = ("admin", "county_staff")
SchoolStage = Literal[vocabulary.SCHOOL_STAGE.codes]  # type: ignore[valid-type]


class SchoolIn(_In):
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
                           description="the id records carry; default: the 学校标识码, else a new one")
    name: str = Field(min_length=1, max_length=100)
    code: str | None = Field(default=None, pattern=r"^\d{10}$", description="学校标识码 (10 digits), where known")
    township_code: str = Field(pattern=r"^\d{12}$")
    stage: SchoolStage
    head: str | None = Field(default=None, max_length=50, description="校长")


class SchoolPatch(_In):
    version: int | None = Field(default=None, ge=1, description="or send If-Match")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    code: str | None = Field(default=None, pattern=r"^\d{10}$")
    township_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    stage: SchoolStage | None = None
    head: str | None = Field(default=None, max_length=50)


class SchoolOut(BaseModel):
    id: str
    name: str
    code: str | None
    county_code: str
    township_code: str
    township_name: str | None
    stage: str
    stage_label: str | None
    head: str | None
    version: int


class SchoolPage(BaseModel):
    items: list[SchoolOut]
    next_cursor: str | None
    total: int


class SchoolImportOut(BaseModel):
    created: int
    updated: int
    errors: list[dict[str, Any]]


def _manager(principal: Principal) -> str:
    """The county a manager keeps the register of."""
    require_staff(principal)
    if not principal.has_role(*MANAGING_ROLES) or len(principal.scope_prefix) < 6:
        raise Refusal(403, "forbidden", "学校名录由县级工作人员维护 / county staff keep the school register")
    return principal.scope_prefix[:6].ljust(12, "0")


def _out(request: Request, row: asyncpg.Record) -> dict[str, Any]:
    register = divisions_of(request).county(row["county_code"])
    return {"id": row["id"], "name": row["name"], "code": row["code"], "county_code": row["county_code"],
            "township_code": row["township_code"], "township_name": register.name_of(row["township_code"]),
            "stage": row["stage"], "stage_label": vocabulary.SCHOOL_STAGE.label(row["stage"]), "head": row["head"],
            "version": row["version"]}


async def _check_township(request: Request, conn: asyncpg.Connection, county: str, township: str,
                          field: str = "body.township_code") -> str:
    cache = divisions_of(request)
    await cache.load(conn, [county])
    return cache.county(county).resolve_township(county, township, field)


def _taken(taken: store_schools.SchoolTaken) -> RuleViolation:
    what = {"name": "本县已有同名学校", "code": "该学校标识码已登记", "id": "该学校编号已被使用"}[taken.field]
    return RuleViolation(f"body.{taken.field}", f"{what} / already taken", status.HTTP_409_CONFLICT)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SchoolOut)
async def add_school(body: SchoolIn, request: Request, principal: Caller) -> JSONResponse:
    county = _manager(principal)
    async with request.app.state.pool.acquire() as conn:
        township = await _check_township(request, conn, county, body.township_code)
        values = {**body.model_dump(), "county_code": county, "township_code": township,
                  "id": body.id or body.code or f"school-{uuid4().hex[:12]}"}
        try:
            row = await store_schools.insert_school(conn, values, principal.subject)
        except store_schools.SchoolTaken as taken:
            raise _taken(taken) from None
    return JSONResponse(_out(request, row), status_code=status.HTTP_201_CREATED, headers={"ETag": etag(row["version"])})


@router.get("", response_model=SchoolPage)
async def list_schools(request: Request, principal: Caller,
                       township_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100,
                       cursor: Annotated[str | None, Query(max_length=200)] = None) -> JSONResponse:
    """The register of the caller's area, by township and name."""
    require_staff(principal)
    after = None
    if cursor:
        township, _, name = cursor.partition(":")
        if len(township) != 12 or not township.isdigit() or not name:
            raise RuleViolation("query.cursor", "不是有效的翻页标记 / not a cursor this list gave")
        after = (township, name)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_schools.list_schools(conn, principal.scope_prefix, township_code=township_code,
                                                after=after, limit=limit + 1)
        total = await store_schools.count_schools(conn, principal.scope_prefix, township_code)
        await divisions_of(request).load(conn, [row["county_code"] for row in rows])
    page = rows[:limit]
    more = len(rows) > limit
    return JSONResponse({"items": [_out(request, row) for row in page], "total": total,
                         "next_cursor": f"{page[-1]['township_code']}:{page[-1]['name']}" if more else None})


@router.get("/{school_id}", response_model=SchoolOut)
async def read_school(school_id: str, request: Request, principal: Caller) -> JSONResponse:
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        row = await store_schools.get_school(conn, school_id, principal.scope_prefix)
        if row is None:
            raise Refusal(404, "not_found", "没有这所学校 / no such school")
        await divisions_of(request).load(conn, [row["county_code"]])
    return JSONResponse(_out(request, row), headers={"ETag": etag(row["version"])})


@router.patch("/{school_id}", response_model=SchoolOut)
async def change_school(school_id: str, body: SchoolPatch, request: Request, principal: Caller,
                        if_match: IfMatch = None) -> JSONResponse:
    county = _manager(principal)
    version = expected_version(if_match, body.version)
    async with request.app.state.pool.acquire() as conn:
        row = await store_schools.get_school(conn, school_id, county[:6])
        if row is None:
            raise Refusal(404, "not_found", "没有这所学校 / no such school")
        values = {key: row[key] for key in ("township_code", "name", "code", "stage", "head")}
        values.update({key: getattr(body, key) for key in body.model_fields_set if key != "version"})
        for required in ("township_code", "name", "stage"):
            if values[required] is None:
                raise RuleViolation(f"body.{required}", "不能清空 / cannot be removed")
        values["township_code"] = await _check_township(request, conn, county, values["township_code"])
        try:
            written = await store_schools.update_school(conn, school_id, values, version)
        except store_schools.SchoolTaken as taken:
            raise _taken(taken) from None
    if written is None:
        raise stale(row["version"])
    return JSONResponse(_out(request, written), headers={"ETag": etag(written["version"])})


@router.post("/import", response_model=SchoolImportOut)
async def import_schools(request: Request, principal: Caller, file: Annotated[UploadFile, File()]) -> JSONResponse:
    """An XLSX (or CSV) of the county's schools: 学校名称*, 学校标识码, 乡镇* (code or name),
    学段*, 校长. A school already in the register (same name) is updated; rows with a fault
    are listed by row and column with the reason and not written."""
    county = _manager(principal)
    content = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise RuleViolation("body.file", "文件超过25MB / larger than 25 MB", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    try:
        rows = await asyncio.to_thread(school_sheets.read_schools, content)
    except SheetRejected as rejected:
        raise RuleViolation("body.file", rejected.reason) from None
    created = updated = 0
    errors: list[dict[str, Any]] = []
    async with request.app.state.pool.acquire() as conn:
        cache = divisions_of(request)
        await cache.load(conn, [county])
        for row_number, values, faults in school_sheets.checked_rows(rows, cache.county(county), county):
            if faults:
                errors.extend({"row": row_number, "column": column, "reason": reason} for column, reason in faults)
                continue
            existing = await store_schools.school_by_name(conn, county, values["name"])
            try:
                if existing is None:
                    await store_schools.insert_school(
                        conn, {**values, "id": values["code"] or f"school-{uuid4().hex[:12]}"}, principal.subject)
                    created += 1
                else:
                    await store_schools.update_school(conn, existing["id"], values, existing["version"])
                    updated += 1
            except store_schools.SchoolTaken as taken:
                errors.append({"row": row_number, "column": taken.field, "reason": _taken(taken).reason})
    return JSONResponse({"created": created, "updated": updated, "errors": errors})

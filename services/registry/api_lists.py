"""Lists, search, export and growth notes: many records (or many notes) at once, under the
same masking and audit rules as a single read."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse, Response

from services.registry import commands, privacy, sheet_writers, sheets, store
from services.registry.encrypted_columns import GROWTH_NOTE
from services.registry.models import GrowthNoteIn, SearchIn
from services.registry.pinyin import normalize_query
from services.registry.models_out import ChildItems, ChildPage, GrowthNoteOut, GrowthNotes
from shared.auth import Principal
from shared.contracts.events import LeftBehindType, PublicCategory
from shared.pagination import PageRequest, Paging
from shared.rules import RuleViolation
from shared.scope import not_found, require_division_filter, require_school_filter
from shared.purpose import StatedPurpose, clear_purpose
from shared.routes import Caller, cipher_of, require_staff, today
from services.registry.division_cache import divisions_of

router = APIRouter(prefix="/v1", tags=["children"])
Code12 = Annotated[str | None, Query(pattern=r"^\d{12}$")]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def child_filter(request: Request, township_code: Code12 = None, village_code: Code12 = None,
                 school_id: Annotated[str | None, Query(max_length=64)] = None,
                 category: PublicCategory | None = None,
                 status: Literal["active", "transferred", "closed"] | None = None,
                 gender: Literal["male", "female"] | None = None,
                 left_behind_type: LeftBehindType | None = None, priority: bool | None = None,
                 min_age: Annotated[int | None, Query(ge=0, le=18)] = None,
                 max_age: Annotated[int | None, Query(ge=0, le=18)] = None,
                 caregiver_id: Annotated[UUID | None, Query(description="children paired with this caregiver now")]
                 = None,
                 paired: Annotated[bool | None, Query(description="paired with a caregiver now (true) or with "
                                                            "no one (false)")] = None) -> store.ChildFilter:
    """Filters travel in the query string: codes and flags only, never a name."""
    if min_age is not None and max_age is not None and min_age > max_age:
        raise RuleViolation("query.min_age", "最小年龄大于最大年龄 / min_age is above max_age")
    now = today(request)
    return store.ChildFilter(
        township_code=township_code, village_code=village_code, school_id=school_id, category=category,
        status=status, gender=gender, left_behind_type=left_behind_type, priority=priority,
        born_before=_years_before(now, min_age) if min_age is not None else None,
        born_after=_years_before(now, max_age + 1) + timedelta(days=1) if max_age is not None else None,
        caregiver_id=caregiver_id, paired=paired,
    )


Filters = Annotated[store.ChildFilter, Depends(child_filter)]


def confined(filters: store.ChildFilter, principal: Principal, place: str = "query") -> store.ChildFilter:
    """The filters with the caller's school, for a school_staff token that carries one. A
    place or school outside the caller's scope is refused (403), not answered with nothing."""
    require_division_filter(principal, "township_code", filters.township_code, place)
    require_division_filter(principal, "village_code", filters.village_code, place)
    require_school_filter(principal, "school_id", filters.school_id, place)
    school = principal.school_scope
    return filters if school is None else replace(filters, school_id=school)


async def _views(request: Request, principal: Principal, stated: str | None, rows: list, action: str) -> list[dict]:
    """Masked views, or clear ones with one audit row naming every record shown."""
    purpose = clear_purpose(stated, principal)
    cipher = cipher_of(request)
    shown = [privacy.view(row, cipher, unmask=purpose is not None) for row in rows]
    revealed = {field for view in shown for field in view.revealed}
    async with request.app.state.pool.acquire() as conn:
        if purpose and revealed:
            await store.record_sensitive_read(
                conn, subject=principal.subject, roles=sorted(principal.roles), action=action,
                record_ids=[row["id"] for row in rows], fields=sorted(revealed), purpose=purpose)
        return await commands.named(divisions_of(request), conn, [view.body for view in shown])


@router.get("/children", response_model=ChildPage)
async def list_children(request: Request, principal: Caller, filters: Filters, stated: StatedPurpose,
                        page: Paging) -> JSONResponse:
    """The children in the caller's jurisdiction, by id, a page at a time (`next_cursor`)."""
    require_staff(principal)
    scoped = confined(filters, principal)
    after = page.after(UUID)
    async with request.app.state.pool.acquire() as conn:
        rows = await store.list_children_in_scope(conn, principal.scope_prefix, after=after[0] if after else None,
                                                  limit=page.fetch, filters=scoped)
    items = await _views(request, principal, stated, rows[: page.limit], "list")
    return JSONResponse(page.keyset(rows, key=lambda row: (row["id"],), items=items))


@router.post("/children/search", response_model=ChildItems)
async def search_children(body: SearchIn, request: Request, principal: Caller,
                          stated: StatedPurpose) -> JSONResponse:
    """By name, pinyin or initials: 曾小明, zengxiaoming, zeng xiao, zxm. A POST, so that names
    stay out of URLs and access logs."""
    require_staff(principal)
    query = normalize_query(body.query)
    if not query:
        raise RuleViolation("body.query", "请输入要查找的姓名或拼音 / nothing to search for")
    filters = confined(store.ChildFilter(township_code=body.township_code, village_code=body.village_code,
                                         school_id=body.school_id, category=body.category, status=body.status,
                                         paired=body.paired), principal, place="body")
    page = PageRequest(limit=body.limit, cursor=body.cursor)
    async with request.app.state.pool.acquire() as conn:
        rows = await store.search_children(conn, principal.scope_prefix, query, limit=page.fetch, filters=filters,
                                           offset=page.offset())
    items = await _views(request, principal, stated, rows[: page.limit], "search")
    return JSONResponse(page.offset_page(rows, items=items))


@router.get("/exports/children.xlsx", response_class=Response,
            responses={200: {"content": {sheets.XLSX_TYPE: sheets.XLSX_SCHEMA}}})
async def export_children(request: Request, principal: Caller, filters: Filters,
                          stated: StatedPurpose) -> Response:
    """Every record in the caller's scope (and filters) as XLSX, masked like the API."""
    require_staff(principal)
    purpose = clear_purpose(stated, principal)
    cipher = cipher_of(request)
    views = []
    scoped = confined(filters, principal)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction(readonly=True, isolation="repeatable_read"):
            async for row in store.iterate_children(conn, principal.scope_prefix, scoped):
                views.append(privacy.view(row, cipher, unmask=purpose is not None))
        bodies = await commands.named(divisions_of(request), conn, [view.body for view in views])
    content = sheet_writers.export_workbook(bodies, unmasked=purpose is not None)
    revealed = sorted({field for view in views for field in view.revealed})
    if purpose and revealed:
        async with request.app.state.pool.acquire() as conn:
            await store.record_sensitive_read(
                conn, subject=principal.subject, roles=sorted(principal.roles), action="export",
                record_ids=[UUID(view.body["id"]) for view in views], fields=revealed, purpose=purpose)
    return Response(content, media_type=sheets.XLSX_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="children.xlsx"'})


@router.post("/children/{child_id}/growth-notes", status_code=status.HTTP_201_CREATED,
             response_model=GrowthNoteOut)
async def add_growth_note(child_id: UUID, body: GrowthNoteIn, request: Request, principal: Caller) -> JSONResponse:
    """A dated note in the growth record (成长记录), encrypted at rest."""
    require_staff(principal)
    note_id, note_enc = commands.sealed_growth_note(cipher_of(request), today(request), body)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            if await store.get_child_in_scope(conn, child_id, principal.scope_prefix,
                                                school_id=principal.school_scope) is None:
                raise not_found("child")
            row = await store.add_growth_note(conn, note_id=note_id, child_id=child_id, noted_on=body.noted_on,
                                              area=body.area, note_enc=note_enc, author=principal.subject)
    return JSONResponse({"id": str(row["id"]), "noted_on": row["noted_on"].isoformat(), "area": row["area"]},
                        status_code=status.HTTP_201_CREATED)


@router.get("/children/{child_id}/growth-notes", response_model=GrowthNotes)
async def list_growth_notes(child_id: UUID, request: Request, principal: Caller,
                            stated: StatedPurpose, page: Paging) -> JSONResponse:
    """Dates and areas for every staff member in scope; the texts only with
    `view_sensitive` and a stated purpose (audited)."""
    require_staff(principal)
    purpose = clear_purpose(stated, principal)
    cipher = cipher_of(request)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            if await store.get_child_in_scope(conn, child_id, principal.scope_prefix,
                                                school_id=principal.school_scope) is None:
                raise not_found("child")
            rows = page.of_sequence(await store.list_growth_notes(conn, child_id))
            if purpose and rows["items"]:
                await store.record_sensitive_read(
                    conn, subject=principal.subject, roles=sorted(principal.roles), action="growth_notes",
                    record_ids=[child_id], fields=["growth_notes.text"], purpose=purpose)
    rows["items"] = [{"id": str(r["id"]), "noted_on": r["noted_on"].isoformat(), "area": r["area"],
                      "author": r["author"],
                      "text": cipher.decrypt(r["note_enc"], context=GROWTH_NOTE.context(r["id"])) if purpose else None}
                     for r in rows["items"]]
    return JSONResponse({**rows, "masked": purpose is None})

"""Lists, search, export and growth notes: many records (or many notes) at once, under the
same masking and audit rules as a single read."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, Response

from services.registry import privacy, sheet_writers, sheets, store
from services.registry.api_common import (
    cipher_of, not_found, require_staff, today, unmask_purpose,
)
from services.registry.encrypted_columns import GROWTH_NOTE
from services.registry.models import GrowthNoteIn, SearchIn
from services.registry.pinyin import normalize_query
from shared.auth import Principal, require_principal
from shared.contracts.events import LeftBehindType, PublicCategory

router = APIRouter(prefix="/v1", tags=["children"])
Caller = Annotated[Principal, Depends(require_principal)]
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
                 max_age: Annotated[int | None, Query(ge=0, le=18)] = None) -> store.ChildFilter:
    """Filters travel in the query string: codes and flags only, never a name."""
    if min_age is not None and max_age is not None and min_age > max_age:
        raise HTTPException(422, [{"field": "query.min_age", "reason": "min_age is above max_age"}])
    now = today(request)
    return store.ChildFilter(
        township_code=township_code, village_code=village_code, school_id=school_id, category=category,
        status=status, gender=gender, left_behind_type=left_behind_type, priority=priority,
        born_before=_years_before(now, min_age) if min_age is not None else None,
        born_after=_years_before(now, max_age + 1) + timedelta(days=1) if max_age is not None else None,
    )


Filters = Annotated[store.ChildFilter, Depends(child_filter)]


async def _views(request: Request, principal: Principal, rows: list, action: str) -> list[dict]:
    """Masked views, or clear ones with one audit row naming every record shown."""
    purpose = unmask_purpose(request, principal)
    cipher = cipher_of(request)
    shown = [privacy.view(row, cipher, unmask=purpose is not None) for row in rows]
    revealed = {field for view in shown for field in view.revealed}
    if purpose and revealed:
        async with request.app.state.pool.acquire() as conn:
            await store.record_sensitive_read(
                conn, subject=principal.subject, roles=sorted(principal.roles), action=action,
                record_ids=[row["id"] for row in rows], fields=sorted(revealed), purpose=purpose)
    return [view.body for view in shown]


@router.get("/children")
async def list_children(request: Request, principal: Caller, filters: Filters,
                        after: Annotated[UUID | None, Query()] = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> JSONResponse:
    """The children in the caller's jurisdiction, a page at a time (`next_after`)."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        rows = await store.list_children_in_scope(conn, principal.scope_prefix, after=after, limit=limit,
                                                  filters=filters)
    items = await _views(request, principal, rows, "list")
    next_after = items[-1]["id"] if len(items) == limit else None
    return JSONResponse({"items": items, "next_after": next_after})


@router.post("/children/search")
async def search_children(body: SearchIn, request: Request, principal: Caller) -> JSONResponse:
    """By name, pinyin or initials: 曾小明, zengxiaoming, zeng xiao, zxm. A POST, so that names
    stay out of URLs and access logs."""
    require_staff(principal)
    query = normalize_query(body.query)
    if not query:
        raise HTTPException(422, [{"field": "body.query", "reason": "nothing to search for"}])
    filters = store.ChildFilter(township_code=body.township_code, school_id=body.school_id, status=body.status)
    async with request.app.state.pool.acquire() as conn:
        rows = await store.search_children(conn, principal.scope_prefix, query, limit=body.limit, filters=filters)
    return JSONResponse({"items": await _views(request, principal, rows, "search")})


@router.get("/exports/children.xlsx", response_class=Response,
            responses={200: {"content": {sheets.XLSX_TYPE: {}}}})
async def export_children(request: Request, principal: Caller, filters: Filters) -> Response:
    """Every record in the caller's scope (and filters) as XLSX, masked like the API."""
    require_staff(principal)
    purpose = unmask_purpose(request, principal)
    cipher = cipher_of(request)
    views = []
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction(readonly=True, isolation="repeatable_read"):
            async for row in store.iterate_children(conn, principal.scope_prefix, filters):
                views.append(privacy.view(row, cipher, unmask=purpose is not None))
    content = sheet_writers.export_workbook([view.body for view in views], unmasked=purpose is not None)
    revealed = sorted({field for view in views for field in view.revealed})
    if purpose and revealed:
        async with request.app.state.pool.acquire() as conn:
            await store.record_sensitive_read(
                conn, subject=principal.subject, roles=sorted(principal.roles), action="export",
                record_ids=[UUID(view.body["id"]) for view in views], fields=revealed, purpose=purpose)
    return Response(content, media_type=sheets.XLSX_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="children.xlsx"'})


@router.post("/children/{child_id}/growth-notes", status_code=status.HTTP_201_CREATED)
async def add_growth_note(child_id: UUID, body: GrowthNoteIn, request: Request, principal: Caller) -> JSONResponse:
    """A dated note in the growth record (成长记录), encrypted at rest."""
    require_staff(principal)
    if body.noted_on > today(request):
        raise HTTPException(422, [{"field": "body.noted_on", "reason": "is in the future"}])
    note_id = uuid4()
    note_enc = cipher_of(request).encrypt(body.text, context=GROWTH_NOTE.context(note_id))
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            if await store.get_child_in_scope(conn, child_id, principal.scope_prefix) is None:
                not_found()
            row = await store.add_growth_note(conn, note_id=note_id, child_id=child_id, noted_on=body.noted_on,
                                              area=body.area, note_enc=note_enc, author=principal.subject)
    return JSONResponse({"id": str(row["id"]), "noted_on": row["noted_on"].isoformat(), "area": row["area"]},
                        status_code=status.HTTP_201_CREATED)


@router.get("/children/{child_id}/growth-notes")
async def list_growth_notes(child_id: UUID, request: Request, principal: Caller) -> JSONResponse:
    """Dates and areas for every staff member in scope; the texts only with
    `view_sensitive` and a stated purpose (audited)."""
    require_staff(principal)
    purpose = unmask_purpose(request, principal)
    cipher = cipher_of(request)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            if await store.get_child_in_scope(conn, child_id, principal.scope_prefix) is None:
                not_found()
            rows = await store.list_growth_notes(conn, child_id)
            if purpose and rows:
                await store.record_sensitive_read(
                    conn, subject=principal.subject, roles=sorted(principal.roles), action="growth_notes",
                    record_ids=[child_id], fields=["growth_notes.text"], purpose=purpose)
    items = [{"id": str(r["id"]), "noted_on": r["noted_on"].isoformat(), "area": r["area"], "author": r["author"],
              "text": cipher.decrypt(r["note_enc"], context=GROWTH_NOTE.context(r["id"])) if purpose else None}
             for r in rows]
    return JSONResponse({"items": items, "masked": purpose is None})

"""The ledgers (台账): `GET /v1/ledgers/{kind}` for a scope and a period, as XLSX or PDF to
file, or as JSON pages for the console. Generated when asked and not kept: the rows from the
read model, the names from their owners at that moment (owner_names.py)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from services.reports import commands, documents_ledger, store_ledgers
from services.reports.domain import Window
from services.reports.ledgers import LEDGERS, Ledger, Names, compose, ids_to_name, schools_to_name
from services.reports.owner_names import NamesUnavailable, OwnerNames
from services.reports.summaries import Scope
from shared import audit
from shared.auth import Principal
from shared.logging import get_logger
from shared.pagination import PageRequest, paged
from shared.purpose import StatedPurposeHeader, clear_purpose
from shared.scope import require_school_filter
from shared.routes import Caller, require_staff, settings_of
from shared.rules import RuleViolation

router = APIRouter(prefix="/v1", tags=["ledgers"])
log = get_logger("reports.ledgers")

Kind = Literal["children", "pairings", "contacts", "support", "concerns"]
# A document is made in one piece: beyond these, a narrower scope or period is asked for.
MAX_ROWS = {"xlsx": 100_000, "pdf": 5_000}
LEDGER_PURPOSE = "台账 / ledger"
_MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


class LedgerColumn(BaseModel):
    key: str
    label: str = Field(description="the heading the documents print")


class LedgerScope(BaseModel):
    code: str
    school_id: str | None


class LedgerPage(BaseModel):
    """A page of a ledger; each item has a value (text, a number or null) for every column's
    key, and the ids of what it lists (child_id, pairing_id, contact_id, …)."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None
    total: int | None = None
    kind: str
    title: str
    period: str
    scope: LedgerScope
    columns: list[LedgerColumn]


_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _confined(principal: Principal, where: Scope) -> Scope:
    """A school's staff see their school's children only (ledgers name them)."""
    require_school_filter(principal, "scope", where.school_id)
    if principal.school_scope and where.school_id is None:
        return Scope(where.code, where.prefix, school_id=principal.school_scope)
    return where


async def _names(request: Request, principal: Principal, ledger: Ledger, rows: list, scope: Scope,
                 stated: str | None) -> Names:
    owners = request.app.state.owner_names
    children, caregivers = ids_to_name(ledger, rows)
    # The contact card's phones in clear only for a reader who may see them and said why;
    # the purpose goes to the registry with who asked.
    clear = clear_purpose(stated, principal) if ledger.contact_card else None
    forwarded = f"{clear}（{principal.subject}）"[:200] if clear else None
    try:
        if (children or caregivers) and owners is None:
            raise NamesUnavailable("no owner configured")
        child_names = await owners.children(children, forwarded) if children else {}
        caregiver_names = await owners.caregivers(caregivers) if caregivers else {}
    except NamesUnavailable:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the names cannot be read from their owners now; try again shortly") from None
    place_names = request.app.state.place_names
    places = await place_names.of_county(scope.code) if place_names is not None else {}
    if child_names:
        fields = ["name"] + (["guardians.phone", "parents.phone"] if forwarded else [])
        async with request.app.state.pool.acquire() as conn:
            await audit.record_principal_read(conn, principal, action=f"ledger_{ledger.kind}", record_kind="child",
                                              record_ids=sorted(UUID(child) for child in child_names),
                                              fields=fields, purpose=clear or stated or LEDGER_PURPOSE)
    schools, activity_types, programmes = await _reference_names(owners, ledger, rows, scope)
    return Names(child_names, caregiver_names, places, schools, activity_types, programmes)


async def _reference_names(owners: OwnerNames | None, ledger: Ledger, rows: list,
                           scope: Scope) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The schools' names (registry's register), the county's activity types (visits) and the
    aid programmes' names (pairing), as they are now. Reference data, like the places: when an
    owner cannot be reached the ledger prints the school ids, the default names of the types
    and "资助项目" rather than nothing."""
    if owners is None:
        return {}, {}, {}
    schools: dict[str, str] = {}
    types: dict[str, str] = {}
    try:
        wanted = schools_to_name(rows, scope.school_id)
        schools = await owners.schools(wanted) if wanted else {}
    except NamesUnavailable as unavailable:
        log.warning("reports.school_names_unavailable", error=str(unavailable))
    if ledger.kind == "support" and any(row["entry"] == "activity" for row in rows):
        try:
            types = await owners.activity_types(scope.code)
        except NamesUnavailable as unavailable:
            log.warning("reports.activity_type_names_unavailable", error=str(unavailable))
    programmes: dict[str, str] = {}
    wanted_programmes = sorted({str(row["programme_id"]) for row in rows
                                if ledger.kind == "support" and row["programme_id"] is not None})
    if wanted_programmes:
        try:
            programmes = await owners.programmes(wanted_programmes)
        except NamesUnavailable as unavailable:
            log.warning("reports.programme_names_unavailable", error=str(unavailable))
    return schools, types, programmes


def _heading(request: Request, ledger: Ledger, scope: Scope, names: Names) -> str:
    places = names.places
    county = request.app.state.settings.county_name or places.get(scope.code[:6].ljust(12, "0")) or scope.code[:6]
    below = "" if scope.code.endswith("000000") else (places.get(scope.code) or scope.code)
    school = f"（{names.schools.get(scope.school_id) or '学校 ' + scope.school_id}）" if scope.school_id else ""
    return f"{county}{below}{school}{ledger.title}"


@router.get("/ledgers/{kind}", response_model=LedgerPage,
            responses={200: {"content": {media: _BINARY for media in _MEDIA.values()},
                             "description": "JSON: a page of the ledger; XLSX or PDF: the whole ledger"},
                       503: {"description": "the owners of the names cannot be read now"}})
async def ledger(kind: Kind, request: Request, principal: Caller, page: Annotated[PageRequest, Depends(paged())],
                 since: Annotated[date, Query(alias="from", description="the period's first day")],
                 until: Annotated[date, Query(alias="to", description="the period's last day (inclusive)")],
                 scope: Annotated[str | None, Query(max_length=64,
                                                    description="a 12-digit division code or a school id")] = None,
                 as_of: Annotated[date | None, Query(description="as recorded by the end of this day")] = None,
                 format: Annotated[Literal["json", "xlsx", "pdf"], Query()] = "json",
                 stated: StatedPurposeHeader = None) -> Any:
    """children: 一人一档 with the 联系卡 fields, the children on the register as of the date;
    pairings: 结对帮扶名册, pairings running in the period; contacts: 家访/谈心/亲情电话 in the
    period; support: 关爱慰问活动 held and aid or gifts given to a child (帮扶资助) in the period;
    concerns: 强制报告登记, concerns raised in the period. Staff in their jurisdiction (a school's
    staff: their school). JSON pages with `limit`/`cursor`; XLSX and PDF whole. The contact card's
    phones are masked unless the caller has `view_sensitive` and states `X-Purpose`."""
    require_staff(principal)
    where = _confined(principal, commands.resolve_scope(principal, scope))
    settings = request.app.state.settings
    definition = LEDGERS[kind]
    async with request.app.state.pool.acquire() as conn:
        period, as_of_day, _ = await commands.checked_period(conn, settings_of(request), since, until, as_of)
        window = Window.of(period, as_of_day, ZoneInfo(settings.county_timezone))
        if format == "json":
            rows = await store_ledgers.ledger_rows(conn, kind, where.prefix, where.school_id, window,
                                                   offset=page.offset(), limit=page.fetch)
        else:
            rows = await store_ledgers.ledger_rows(conn, kind, where.prefix, where.school_id, window,
                                                   limit=MAX_ROWS[format] + 1)
            if len(rows) > MAX_ROWS[format]:
                raise RuleViolation("query.format", f"more than {MAX_ROWS[format]} rows: narrow the scope or period")
    shown = rows[:page.limit] if format == "json" else rows
    names = await _names(request, principal, definition, shown, where, stated)
    items = compose(definition, shown, names, ZoneInfo(settings.county_timezone))
    heading = _heading(request, definition, where, names)
    period_line = f"统计期间：{period.start.isoformat()} 至 {period.end.isoformat()}（截至{as_of_day.isoformat()}）"
    if format == "json":
        body = page.offset_page(rows, items)
        body.update({"kind": kind, "title": heading, "period": period_line,
                     "scope": {"code": where.code, "school_id": where.school_id},
                     "columns": [{"key": key, "label": label} for key, label in definition.columns]})
        return JSONResponse(body)
    render = documents_ledger.xlsx if format == "xlsx" else documents_ledger.pdf
    content = await asyncio.to_thread(render, definition, heading, period_line, items)
    name = f"ledger-{kind}-{where.code}-{period.start.isoformat()}-{period.end.isoformat()}.{format}"
    return Response(content, media_type=_MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{name}"'})

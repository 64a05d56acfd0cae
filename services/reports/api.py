"""The work summary (工作总结): figures as JSON for the console, or the document a county
edits (DOCX), tables with a native chart (XLSX) and a PDF to print."""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.reports import commands, documents_docx, documents_pdf, documents_xlsx
from services.reports.api_template import sections_for
from services.reports.ledgers import ACTIVITY
from services.reports.owner_names import NamesUnavailable
from services.reports.place_names import with_place_names
from services.reports.summaries import build_summary
from services.reports.summary_template import render_sections
from shared.logging import get_logger
from shared.routes import Caller, require_staff, settings_of

router = APIRouter(prefix="/v1", tags=["summary"])
log = get_logger("reports.summary")


_MEDIA = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "zip": "application/zip",
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}


class SummaryScope(BaseModel):
    code: str
    school_id: str | None
    name: str | None = Field(default=None, description="the division's name (null when it cannot be read)")
    county_name: str | None = None


class SummaryPeriod(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    as_of: date


class SummaryFigure(BaseModel):
    key: str
    label: str
    kind: str = Field(description="count, rate or amount (yuan, two decimals): how the value is printed")
    definition: str
    value: float | None
    previous: float | None = Field(description="the previous period's value, as of its own last day; "
                                               "null before the first recorded day")
    change: float | None


class SummaryTownship(BaseModel):
    township_code: str
    township_name: str | None = None
    figures: dict[str, float | None]


class SummaryParagraph(BaseModel):
    heading: str
    text: str


class SummaryAid(BaseModel):
    programme_id: UUID
    programme_name: str | None = Field(default=None, description=(
        "the programme's name as pairing last published it (null for aid recorded before names were published)"))
    children: int
    records: int
    amount_fen: int


class SummaryOut(BaseModel):
    """The work summary as JSON (format=json); the documents carry the same figures."""
    scope: SummaryScope
    period: SummaryPeriod
    previous_period: SummaryPeriod
    first_recorded_day: date
    figures: list[SummaryFigure]
    by_township: list[SummaryTownship]
    activities_by_type: dict[str, int] = Field(description="activities held in the period by the county's type code")
    activity_type_names: dict[str, str] = Field(default_factory=dict, description=(
        "the names of the types in activities_by_type, as the county named them in visits (the defaults' names "
        "while visits cannot be asked; the code for a type neither names)"))
    activity_attendance_by_type: dict[str, int] = Field(
        default_factory=dict, description="everyone who came to the period's activities, by type code")
    cases_by_state: dict[str, int] = Field(
        default_factory=dict, description="concerns raised by the period's end, by their case's state at its end")
    duties_by_kind: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="the period's duties by kind: due, on_time, late, overdue")
    aid_by_programme: list[SummaryAid] = Field(default_factory=list, description=(
        "aid given in the period under each of pairing's aid programmes, with their names"))
    paragraphs: list[SummaryParagraph] = Field(description="the county's wording template, its placeholders filled")


async def _activity_type_names(request: Request, county_code: str, types: dict[str, int]) -> dict[str, str]:
    """The period's activity types by name: the county's own names from visits (reference
    data, like the places), else the defaults' names, else the code."""
    names = {code: ACTIVITY.get(code, code) for code in types}
    owners = request.app.state.owner_names
    if types and owners is not None:
        try:
            county = await owners.activity_types(county_code)
        except NamesUnavailable as unavailable:
            log.warning("reports.activity_type_names_unavailable", error=str(unavailable))
        else:
            names.update({code: county[code] for code in types if county.get(code)})
    return names


_RENDER = {"docx": documents_docx.render, "xlsx": documents_xlsx.render, "pdf": documents_pdf.render}


def _render_all(body: dict[str, Any], title: str, name: str) -> bytes:
    """The three documents of one summary in a zip: the figures computed once."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for format, render in _RENDER.items():
            archive.writestr(f"{name}.{format}", render(body, title))
    return out.getvalue()


@router.get("/summary", response_model=SummaryOut,
            responses={200: {"content": {media: _BINARY for format, media in _MEDIA.items()},
                             "description": "JSON: the figures; docx, xlsx, pdf: the document; zip: the three"}})
async def summary(request: Request, principal: Caller,
                  since: Annotated[date, Query(alias="from", description="the period's first day")],
                  until: Annotated[date, Query(alias="to", description="the period's last day (inclusive)")],
                  scope: Annotated[str | None, Query(max_length=64,
                                                     description="a 12-digit division code or a school id")] = None,
                  as_of: Annotated[date | None, Query(description="figures as recorded by the end of this day")] = None,
                  format: Annotated[Literal["json", "docx", "xlsx", "pdf", "zip"], Query(
                      description="zip: the DOCX, the XLSX and the PDF together, the figures computed once")] = "json",
                  ) -> Any:
    """Children registered, 建档率, pairs formed and 帮扶覆盖面, contacts by kind, caregivers
    taking part, duties due/on time/late/overdue and concerns, casework (cases open and
    closed, activities, plan reviews, follow-ups, notes to families, aid), each with its
    definition, compared with the previous period and broken down by township (named from
    the registry's division register; null when it cannot be read); the casework's
    breakdowns beside them (cases by state, activities by type, duties by kind, aid by
    programme with its name)."""
    require_staff(principal)
    where = commands.resolve_scope(principal, scope)
    pool = request.app.state.pool
    async with pool.acquire() as conn:
        period, as_of_day, first_day = await commands.checked_period(conn, settings_of(request), since, until, as_of)
        sections = await sections_for(conn, where.code)
    body = await build_summary(pool, where, period, as_of_day,
                               zone_name=request.app.state.settings.county_timezone, first_day=first_day)
    body["paragraphs"] = render_sections(body, sections)
    body["activity_type_names"] = await _activity_type_names(request, where.code, body["activities_by_type"])
    place_names = request.app.state.place_names
    with_place_names(body, await place_names.of_county(where.code) if place_names is not None else {})
    if format == "json":
        return JSONResponse(body)
    title = request.app.state.settings.county_name
    name = f"summary-{where.code}-{period.start.isoformat()}-{period.end.isoformat()}"
    # Rendering is CPU work (a PDF's layout most of all): off the event loop.
    if format == "zip":
        content = await asyncio.to_thread(_render_all, body, title, name)
    else:
        content = await asyncio.to_thread(_RENDER[format], body, title)
    return Response(content, media_type=_MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'})

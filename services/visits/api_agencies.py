"""The agencies each county refers concerns to (公安, 民政, 妇联, 教育局, 检察院, 医院,
司法所/法律援助 by default): read by every staff member, kept by the county."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.visits import commands, domain_cases, store_cases
from shared.clean_text import CleanInput
from shared.conditional import IfMatch, etag, put_precondition
from shared.rules import RuleViolation
from shared.routes import Caller

router = APIRouter(prefix="/v1", tags=["concerns"])
_CODE = r"^[a-z][a-z0-9_]{1,39}$"


class AgencyOut(BaseModel):
    code: str
    name: str
    kind: str
    active: bool
    defined_by: str  # "default", or the county that set it
    version: int
    updated_by: str  # who changed it last ("migration": as the system started)
    updated_at: datetime


class AgencyPage(BaseModel):
    items: list[AgencyOut]
    next_cursor: str | None = None  # one county's list is short: always one page
    total: int


class AgencyIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    kind: Literal[domain_cases.AGENCY_KINDS]  # type: ignore[valid-type]
    active: bool = True


@router.get("/concern-agencies", response_model=AgencyPage)
async def list_agencies(request: Request, principal: Caller,
                        county_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 500,
                        cursor: Annotated[str | None, Query(max_length=200)] = None) -> AgencyPage:
    """The county's agencies (the caller's county unless another in scope is named)."""
    county = commands.vocabulary_county_to_read(principal, county_code)
    if cursor is not None:
        raise RuleViolation("query.cursor", "is not a cursor this list gave")
    async with request.app.state.pool.acquire() as conn:
        rows = await store_cases.agencies(conn, county)
    items = [AgencyOut(**dict(row)) for row in rows]
    return AgencyPage(items=items[:limit], total=len(items))


@router.put("/admin/concern-agencies/{county}/{code}", response_model=AgencyOut,
            responses={412: {"description": "If-Match is stale"}})
async def put_agency(request: Request, response: Response, body: AgencyIn,
                     principal: Caller,
                     county: Annotated[str, Path(pattern=r"^(default|\d{12})$")],
                     code: Annotated[str, Path(pattern=_CODE)], if_match: IfMatch = None) -> AgencyOut:
    """Adds, renames or switches off an agency for a county (county staff of that county,
    admin); the defaults every county starts with ("default") are admin's."""
    county_code = commands.vocabulary_county_to_write(principal, county)
    precondition = put_precondition(if_match)
    now = request.app.state.settings.clock.now()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        current = await store_cases.agency_row(conn, county_code, code, for_update=True)
        precondition(current["version"] if current is not None else None)
        row = await store_cases.put_agency(conn, county_code=county_code, code=code, name=body.name, kind=body.kind,
                                           active=body.active, by=principal.subject, at=now)
    response.headers["ETag"] = etag(row["version"])
    return AgencyOut(code=row["code"], name=row["name"], kind=row["kind"], active=row["active"],
                     defined_by=county, version=row["version"], updated_by=row["updated_by"],
                     updated_at=row["updated_at"])


"""Aid programmes (资助项目): a programme (fund, cohort rule, amount per term, budget), its
distribution lists (drawn from the cohort or uploaded as a sheet, reviewed, then confirmed
at once into one support record per child), and the aid ledger.

Rules: a child gets a programme once per term (a list naming one who had it is refused with
the rows at fault); a list whose total exceeds the remaining budget is refused whole."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.pairing import store_aid
from shared.auth import Principal, scope_prefix
from shared.clean_text import CleanInput
from shared.conditional import IfMatch, etag_headers, expected_version, stale
from shared.contracts.events import AgeBand
from shared.pagination import Page, Paging
from shared.routes import Caller, Idempotent, require_staff, transaction
from shared.rules import Refusal, RuleViolation
from shared.scope import narrowed_prefix, not_found, require_place_field

router = APIRouter(prefix="/v1", tags=["aid"])

_CODE12 = r"^\d{12}$"
Kind = Literal["financial_aid", "in_kind"]


class CohortRule(CleanInput):
    """Who the programme is for, as pairing knows the children (from the registry's events):
    active children of the programme's place, narrowed by any of these."""
    model_config = ConfigDict(extra="forbid")

    township_code: str | None = Field(default=None, pattern=_CODE12)
    village_code: str | None = Field(default=None, pattern=_CODE12)
    school_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=200)
    age_bands: list[AgeBand] = Field(default_factory=list, max_length=7)
    priority_only: bool = Field(default=False, description="only children the registry marks as priority")


class ProgrammeFields(CleanInput):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, description="e.g. 2026年秋季书包发放")
    fund: str = Field(min_length=1, max_length=64, description="the source fund")
    kind: Kind
    item: str | None = Field(default=None, min_length=1, max_length=100, description="what is given (in kind)")
    amount_fen: int = Field(ge=0, le=10_000_000_00, description="per child per term, in fen; in kind: its value")
    budget_fen: int = Field(ge=0, le=1_000_000_000_00, description="the programme's whole budget, in fen")
    cohort: CohortRule = Field(default_factory=CohortRule)
    active: bool = True

    @model_validator(mode="after")
    def _kind_needs(self) -> "ProgrammeFields":
        if self.kind == "financial_aid" and self.amount_fen <= 0:
            raise ValueError("financial aid needs amount_fen above zero")
        if self.kind == "in_kind" and self.item is None:
            raise ValueError("a gift in kind needs the item")
        return self


class ProgrammeIn(ProgrammeFields):
    jurisdiction: str | None = Field(default=None, pattern=_CODE12,
                                     description="the place it serves (county or township); none: the caller's")


class ProgrammeOut(BaseModel):
    id: UUID
    scope_code: str
    name: str
    fund: str
    kind: Kind
    item: str | None
    amount_fen: int
    budget_fen: int
    spent_fen: int
    remaining_fen: int
    given: int = Field(description="support records made under the programme")
    cohort: dict[str, Any]
    active: bool
    version: int
    updated_at: datetime


class LedgerRow(BaseModel):
    programme_id: UUID
    name: str
    fund: str
    kind: Kind
    item: str | None
    period: str
    children: int
    amount_fen: int
    distributions: int
    budget_fen: int


class NamesIn(CleanInput):
    model_config = ConfigDict(extra="forbid")
    ids: list[UUID] = Field(min_length=1, max_length=500)


class NamesOut(BaseModel):
    names: dict[str, str]


# -- helpers ----------------------------------------------------------------------------

def cohort_of(row: Any) -> dict[str, Any]:
    cohort = row["cohort"]
    return cohort if isinstance(cohort, dict) else json.loads(cohort)  # jsonb arrives as text


def _programme_out(row: Any) -> dict[str, Any]:
    spent = int(row["spent_fen"])
    return {"id": row["id"], "scope_code": row["scope_code"], "name": row["name"], "fund": row["fund"],
            "kind": row["kind"], "item": row["item"], "amount_fen": row["amount_fen"], "budget_fen": row["budget_fen"],
            "spent_fen": spent, "remaining_fen": row["budget_fen"] - spent, "given": row["given"],
            "cohort": cohort_of(row),
            "active": row["active"], "version": row["version"], "updated_at": row["updated_at"]}


def with_etag(body: dict[str, Any], status_code: int = 200) -> JSONResponse:
    encoded = jsonable_encoder(body)
    return JSONResponse(encoded, status_code=status_code, headers=etag_headers(encoded))


def sees(principal: Principal, prefix: str) -> bool:
    mine = principal.scope_prefix
    return prefix.startswith(mine) or mine.startswith(prefix)


async def programme_in_scope(conn: asyncpg.Connection, principal: Principal, programme_id: UUID, *,
                     lock: bool = False) -> asyncpg.Record:
    row = await store_aid.get_programme(conn, programme_id, lock=lock)
    if row is None or not sees(principal, row["scope_prefix"]):
        raise not_found("programme")
    return row


def require_manager(principal: Principal) -> None:
    """Programmes and lists are the county's and townships' staff's; a school's staff read them."""
    require_staff(principal)
    if principal.school_scope is not None:
        raise Refusal(403, "role_not_allowed", "a school's staff read aid programmes; the township or county sets them")


def _check_cohort(principal: Principal, cohort: CohortRule) -> None:
    for field in ("township_code", "village_code"):
        code = getattr(cohort, field)
        if code is not None:
            require_place_field(principal, code, f"body.cohort.{field}")


# -- programmes --------------------------------------------------------------------------

@router.post("/aid-programmes", status_code=201, response_model=ProgrammeOut)
async def create_programme(body: ProgrammeIn, request: Request, principal: Caller, once: Idempotent) -> JSONResponse:
    """A programme: its fund, who it is for (the cohort rule), the amount per child per term
    and the budget. The place it serves is the caller's unless a narrower one is given."""
    require_manager(principal)
    code = body.jurisdiction or principal.jurisdiction
    require_place_field(principal, code, "body.jurisdiction")
    _check_cohort(principal, body.cohort)

    async def create(conn: asyncpg.Connection) -> tuple[int, Any]:
        row = await store_aid.insert_programme(conn, {
            **body.model_dump(exclude={"jurisdiction"}), "id": uuid.uuid4(), "county_code": code[:6] + "000000",
            "scope_code": code, "scope_prefix": scope_prefix(code), "created_by": principal.subject})
        return 201, _programme_out(row)

    return await once.answer(body.model_dump(), create, location="/v1/aid-programmes/{id}")


@router.get("/aid-programmes", response_model=Page[ProgrammeOut])
async def list_programmes(request: Request, principal: Caller, page: Paging) -> dict[str, Any]:
    """The programmes of the caller's place and those of the places above it; active first."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_aid.programmes(conn, principal.scope_prefix)
    return page.of_sequence([_programme_out(row) for row in rows])


@router.get("/aid-programmes/{programme_id}", response_model=ProgrammeOut)
async def read_programme(programme_id: UUID, request: Request, principal: Caller) -> JSONResponse:
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        return with_etag(_programme_out(await programme_in_scope(conn, principal, programme_id)))


class ProgrammePatch(CleanInput):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    fund: str | None = Field(default=None, min_length=1, max_length=64)
    item: str | None = Field(default=None, min_length=1, max_length=100)
    amount_fen: int | None = Field(default=None, ge=0, le=10_000_000_00)
    budget_fen: int | None = Field(default=None, ge=0, le=1_000_000_000_00)
    cohort: CohortRule | None = None
    active: bool | None = None
    version: int | None = Field(default=None, ge=1, description="or send If-Match")


@router.patch("/aid-programmes/{programme_id}", response_model=ProgrammeOut)
async def change_programme(programme_id: UUID, body: ProgrammePatch, request: Request, principal: Caller,
                           if_match: IfMatch = None) -> JSONResponse:
    """Changes a programme (If-Match: its ETag; 412 when stale). Records already given keep
    their amounts; a budget below what was spent is refused. Who changed what: GET
    /v1/history/aid_programme/{id}."""
    require_manager(principal)
    expected = expected_version(if_match, body.version)
    if body.cohort is not None:
        _check_cohort(principal, body.cohort)
    async with transaction(request) as conn:
        current = await programme_in_scope(conn, principal, programme_id, lock=True)
        if not current["scope_prefix"].startswith(principal.scope_prefix):
            raise Refusal(403, "role_not_allowed", "the programme is set by the place above yours")
        if current["version"] != expected:
            raise stale(current["version"])
        merged = {**_programme_out(current), **body.model_dump(exclude_unset=True, exclude={"version"})}
        try:
            checked = ProgrammeFields.model_validate({key: merged[key] for key in ProgrammeFields.model_fields})
        except ValueError as invalid:
            raise RuleViolation("body", str(invalid).splitlines()[-1]) from None
        if checked.budget_fen < int(current["spent_fen"]):
            raise RuleViolation("body.budget_fen", "预算不能少于已发放金额 / below what was already given")
        row = await store_aid.update_programme(conn, programme_id, checked.model_dump(mode="json"), expected)
        if row is None:
            raise stale()
        return with_etag(_programme_out(row))


@router.post("/aid-programmes/names", response_model=NamesOut)
async def programme_names(body: NamesIn, request: Request, principal: Caller) -> dict[str, Any]:
    """Programme id → name, for documents made elsewhere (the reports' support ledger and
    work summary, with the reports service's token)."""
    if not principal.has_role("service"):
        require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_aid.names(conn, body.ids)
    return {"names": {str(row["id"]): row["name"] for row in rows}}


# -- the aid ledger ----------------------------------------------------------------------

@router.get("/aid-ledger", response_model=Page[LedgerRow])
async def aid_ledger(request: Request, principal: Caller, page: Paging,
                     jurisdiction: Annotated[str | None, Query(pattern=_CODE12)] = None,
                     since: Annotated[date | None, Query(alias="from")] = None,
                     until: Annotated[date | None, Query(alias="to", description="exclusive")] = None
                     ) -> dict[str, Any]:
    """The aid ledger (资助台账): per programme and term, the children given and the amount,
    where the children lived when given; newest term first."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_aid.ledger(conn, narrowed_prefix(principal, jurisdiction), since, until)
    return page.of_sequence([
        {"programme_id": row["programme_id"], "name": row["name"], "fund": row["fund"], "kind": row["kind"],
         "item": row["item"], "period": row["period_key"], "children": row["children"],
         "amount_fen": int(row["amount_fen"]), "distributions": row["distributions"],
         "budget_fen": row["budget_fen"]} for row in rows])

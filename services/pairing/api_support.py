"""Support records (帮扶): financial aid and gifts in kind per child; a second gift from the
same fund in the same period is flagged (not refused); totals by fund and township."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, model_validator

from services.pairing import commands, domain, store, store_support
from services.pairing.encrypted_columns import SUPPORT_GIVEN_BY
from services.pairing.api_models import SupportOut, SupportTotals
from shared.auth import Principal
from shared.pagination import Page, Paging
from shared.clean_text import CleanInput
from shared.routes import Caller, Idempotent, cipher_of, require_staff, today
from shared.scope import narrowed_prefix
from shared.rules import Refusal, RuleViolation

router = APIRouter(prefix="/v1", tags=["support"])


class SupportIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["financial_aid", "in_kind"]
    amount_fen: int = Field(default=0, ge=0, le=10_000_000_00,
                            description="money in fen (1 yuan = 100); for gifts in kind their value, if known")
    item: str | None = Field(default=None, min_length=1, max_length=100, description="what was given (in kind)")
    fund: str = Field(min_length=1, max_length=64, description="the source fund or programme")
    given_on: date
    given_by: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="person or organisation; stored encrypted")

    @model_validator(mode="after")
    def _kind_needs(self) -> "SupportIn":
        if self.kind == "financial_aid" and self.amount_fen <= 0:
            raise ValueError("financial aid needs amount_fen above zero")
        if self.kind == "in_kind" and self.item is None:
            raise ValueError("a gift in kind needs the item")
        return self


def _support_out(row: Any, request: Request) -> dict[str, Any]:
    given_by = row["given_by_enc"]
    return {"id": row["id"], "child_id": row["child_id"], "township_code": row["township_code"],
            "kind": row["kind"], "amount_fen": row["amount_fen"], "item": row["item"], "fund": row["fund"],
            "given_on": row["given_on"], "period": row["period_key"],
            "given_by": None if given_by is None else cipher_of(request).decrypt(
                given_by, context=SUPPORT_GIVEN_BY.context(row["id"])),
            "flagged": row["flagged_duplicate_of"] is not None,
            "duplicate_of": row["flagged_duplicate_of"]}


async def _child_in_scope(conn: asyncpg.Connection, principal: Principal, child_id: UUID) -> asyncpg.Record:
    child = await store.get_child(conn, child_id)
    if child is None or not principal.covers(commands.deepest_code(child)):
        raise domain.Refusal(404, "child_not_found", "no such child")
    return child


@router.post("/children/{child_id}/support", status_code=201, response_model=SupportOut)
async def record_support(child_id: UUID, body: SupportIn, request: Request,
                         principal: Caller,
                         once: Idempotent) -> JSONResponse:
    """Records aid or a gift. If the child already had one from the same fund in the same
    period (term or half-year, per county setting), it is recorded and flagged."""
    require_staff(principal)
    if body.given_on > today(request):  # the county's today, so checked here rather than in the model
        raise RuleViolation("body.given_on", "given_on is in the future")
    period = domain.support_period_key(body.given_on, request.app.state.settings.support_period)

    async def create(conn: asyncpg.Connection) -> tuple[int, Any]:
        child = await _child_in_scope(conn, principal, child_id)
        earlier = await store_support.earlier_gift_in_period(conn, child_id, body.fund, period)
        record_id = uuid.uuid4()
        given_by = None if body.given_by is None else cipher_of(request).encrypt(
            body.given_by, context=SUPPORT_GIVEN_BY.context(record_id))
        row = await store_support.insert_support(conn, {
            "id": record_id, "child_id": child_id, "county_code": child["county_code"],
            "township_code": child["township_code"], "village_code": child["village_code"], "kind": body.kind,
            "amount_fen": body.amount_fen, "item": body.item, "fund": body.fund, "given_on": body.given_on,
            "period_key": period, "given_by_enc": given_by, "flagged_duplicate_of": earlier,
            "created_by": principal.subject})
        await commands.support_event(conn, row, child)
        return 201, _support_out(row, request)

    return await once.answer({"child_id": str(child_id), **body.model_dump()}, create)


@router.get("/children/{child_id}/support", response_model=Page[SupportOut])
async def child_support(child_id: UUID, request: Request,
                        principal: Caller, page: Paging) -> dict[str, Any]:
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        if await store.get_child_in_scope(conn, child_id, principal.scope_prefix) is None:
            raise Refusal(404, "not_found", "no such child")
        rows = await store_support.support_of_child(conn, child_id)
    return page.of_sequence([_support_out(row, request) for row in rows])


@router.get("/support/flagged", response_model=Page[SupportOut])
async def flagged(request: Request, principal: Caller, page: Paging,
                  jurisdiction: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                  since: Annotated[date | None, Query(alias="from")] = None,
                  until: Annotated[date | None, Query(alias="to")] = None) -> dict[str, Any]:
    """Second gifts from one fund to one child within a period, newest first: for staff to review."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_support.flagged_support(conn, narrowed_prefix(principal, jurisdiction), since, until,
                                                   limit=page.fetch, after=page.after(date, datetime, UUID))
    return page.keyset(rows, key=lambda row: (row["given_on"], row["created_at"], row["id"]),
                       items=[_support_out(row, request) for row in rows[: page.limit]])


def _totals(row: Any) -> dict[str, Any]:
    return {"records": row["records"], "children": row["children"], "amount_fen": int(row["amount_fen"] or 0),
            "gifts_in_kind": row["gifts_in_kind"], "flagged": row["flagged"]}


@router.get("/support/totals", response_model=SupportTotals)
async def totals(request: Request, principal: Caller,
                 jurisdiction: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                 since: Annotated[date | None, Query(alias="from")] = None,
                 until: Annotated[date | None, Query(alias="to", description="exclusive")] = None) -> dict[str, Any]:
    """Totals in [from, to): overall, by fund, by township, by fund and township."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_support.support_totals(conn, narrowed_prefix(principal, jurisdiction), since, until)
    result: dict[str, Any] = {"total": {"records": 0, "children": 0, "amount_fen": 0, "gifts_in_kind": 0,
                                        "flagged": 0},
                              "by_fund": [], "by_township": [], "by_fund_and_township": []}
    for row in rows:
        if row["grouping"] == 3:
            result["total"] = _totals(row)
        elif row["grouping"] == 1:
            result["by_fund"].append({"fund": row["fund"], **_totals(row)})
        elif row["grouping"] == 2:
            result["by_township"].append({"township_code": row["township_code"], **_totals(row)})
        else:
            result["by_fund_and_township"].append(
                {"fund": row["fund"], "township_code": row["township_code"], **_totals(row)})
    return result

"""Pairing routes: pair, end, read, list (by place, school, caregiver); a child's history; a
caregiver's own pairings."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from services.pairing import commands, domain, store, store_pairings
from services.pairing.api_models import CaregiverPairingOut, OwnPairingOut, PairingInHistory, PairingOut
from shared.auth import Principal
from shared.pagination import Page, Paging
from shared.clean_text import CleanInput
from shared.contracts.events import PairingRole
from shared.rules import Refusal, RuleViolation
from shared.routes import Caller, Idempotent, STAFF_ROLES, require_staff, today, transaction
from shared.scope import narrowed_prefix, require_school_filter

router = APIRouter(prefix="/v1", tags=["pairings"])


class PairingIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    child_id: UUID
    caregiver_id: UUID
    role: PairingRole = Field(default="lead", description="one lead per child; any number of helpers (多帮一)")
    started_on: date | None = Field(default=None, description="default today; not in the future")


class PairingEndIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    # child_closed / child_transferred come from the registry's events, not from staff.
    reason: Literal["reassigned", "caregiver_inactive", "capacity_change", "other"]
    ended_on: date | None = Field(default=None, description="default today")


def pairing_out(row: Any) -> dict[str, Any]:
    out = {key: row[key] for key in ("id", "child_id", "caregiver_id", "role", "started_on", "ended_on",
                                     "end_reason", "proposal_id")}
    out["active"] = row["ended_on"] is None
    return out


async def _visible_child(conn: asyncpg.Connection, principal: Principal, child_id: UUID) -> asyncpg.Record:
    row = await store.get_child(conn, child_id)
    if row is None or not principal.covers(commands.deepest_code(row)) or not principal.covers_school(row["school_id"]):
        raise domain.Refusal(404, "child_not_found", "no such child")
    return row


@router.post("/pairings", status_code=201, response_model=PairingOut)
async def create_pairing(body: PairingIn, request: Request,
                         principal: Caller,
                         once: Idempotent) -> JSONResponse:
    """Pairs a caregiver with a child. Refusals: 404 unknown child or caregiver; 409 closed
    child, inactive caregiver, duplicate, second lead, or no free place (with the load);
    422 caregiver outside the child's township/school. Nothing is written then."""
    require_staff(principal)
    started_on = body.started_on or today(request)
    if started_on > today(request):
        raise RuleViolation("body.started_on", "not in the future")

    async def create(conn: asyncpg.Connection) -> tuple[int, Any]:
        await _visible_child(conn, principal, body.child_id)
        caregiver = await store.get_caregiver(conn, body.caregiver_id)
        if caregiver is None or not principal.covers(commands.deepest_code(caregiver)):
            raise domain.Refusal(404, "caregiver_not_found", "no such caregiver")
        try:
            async with conn.transaction():  # a savepoint: a lost race is a refusal, not a 500
                row = await commands.create_pairing(
                    conn, child_id=body.child_id, caregiver_id=body.caregiver_id, role=body.role,
                    started_on=started_on, created_by=principal.subject)
        except asyncpg.UniqueViolationError:
            raise domain.Refusal(409, "already_paired", "a concurrent request paired this child") from None
        return 201, pairing_out(row)

    return await once.answer(body.model_dump(), create,
                                   location=f"{router.prefix}/pairings/{{id}}")


@router.get("/pairings", response_model=Page[CaregiverPairingOut])
async def list_pairings(request: Request, principal: Caller, page: Paging,
                        jurisdiction: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                        school_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                        caregiver_id: UUID | None = None,
                        include_ended: Annotated[bool, Query()] = False) -> dict[str, Any]:
    """The pairings of the children in the caller's scope (a school's staff: their school),
    the newest first, by place, school or caregiver. Ids and codes: the names come from
    their owners' batch reads (`POST /v1/caregivers/names` here, the registry's
    `POST /v1/children/names`). A place or school outside the scope is refused (403)."""
    require_staff(principal)
    prefix = narrowed_prefix(principal, jurisdiction)
    require_school_filter(principal, "school_id", school_id)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_pairings.list_pairings(
            conn, prefix, school_id=principal.school_scope or school_id, caregiver_id=caregiver_id,
            include_ended=include_ended, limit=page.fetch, after=page.after(date, UUID))
    return page.keyset(rows, key=lambda row: (row["started_on"], row["id"]), items=[
        {**_own_pairing_out(row), "child_status": row["child_status"]} for row in rows])


@router.get("/pairings/{pairing_id}", response_model=PairingOut)
async def read_pairing(pairing_id: UUID, request: Request,
                       principal: Caller) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        row = await store_pairings.get_pairing(conn, pairing_id)
    own = row is not None and principal.has_role("caregiver") and principal.caregiver_id == str(row["caregiver_id"])
    staff = row is not None and principal.has_role(*STAFF_ROLES) and principal.covers(commands.deepest_code(row)) \
        and principal.covers_school(row["school_id"])
    if not (own or staff):
        raise Refusal(404, "not_found", "no such pairing")
    return pairing_out(row)


@router.post("/pairings/{pairing_id}/end", response_model=PairingOut)
async def end_pairing(pairing_id: UUID, body: PairingEndIn, request: Request,
                      principal: Caller) -> Any:
    """Ends a pairing (emits PairingEnded); the child returns to the unpaired queue if it was
    their only one."""
    require_staff(principal)
    ended_on = body.ended_on or today(request)
    async with transaction(request) as conn:
        row = await store_pairings.get_pairing(conn, pairing_id)
        if row is None or not principal.covers(commands.deepest_code(row)) or not principal.covers_school(row["school_id"]):
            raise Refusal(404, "not_found", "no such pairing")
        if row["ended_on"] is not None:
            raise domain.Refusal(409, "already_ended", "the pairing has already ended")
        if ended_on < row["started_on"] or ended_on > today(request):
            raise RuleViolation("body.ended_on", "between the start and today")
        child = await store.get_child(conn, row["child_id"])
        ended = await commands.end_pairing(conn, row, child, reason=body.reason, ended_on=ended_on,
                                           ended_by=principal.subject)
        if ended is None:  # ended by a concurrent request between our read and our update
            raise domain.Refusal(409, "already_ended", "the pairing has already ended")
    return pairing_out(ended)


@router.get("/children/{child_id}/pairings", response_model=Page[PairingInHistory])
async def child_pairing_history(child_id: UUID, request: Request,
                                principal: Caller,
                                page: Paging) -> dict[str, Any]:
    """Every pairing the child has had, oldest first, with the reason each one ended."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        if await store.get_child_in_scope(conn, child_id, principal.scope_prefix,
                                          school_id=principal.school_scope) is None:
            raise Refusal(404, "not_found", "no such child")
        rows = await store_pairings.history_of_child(conn, child_id)
    return page.of_sequence([{**pairing_out(row), "caregiver_kind": row["caregiver_kind"]} for row in rows])


def _own_pairing_out(row: Any) -> dict[str, Any]:
    # What a caregiver sees of the child: where and how old, not whether they are a
    # priority case or why (seed 篇23: never singled out).
    return {**pairing_out(row), "child": {"township_code": row["township_code"], "village_code": row["village_code"],
                                          "school_id": row["school_id"], "age_band": row["age_band"]}}


@router.get("/me/pairings", response_model=Page[OwnPairingOut])
async def my_pairings(request: Request, principal: Caller,
                      page: Paging, include_ended: Annotated[bool, Query()] = False) -> dict[str, Any]:
    """A caregiver's own pairings (role caregiver, claim caregiver_id)."""
    if not principal.has_role("caregiver") or not principal.caregiver_id:
        raise Refusal(403, "forbidden", "caregivers only")
    try:
        caregiver_id = UUID(principal.caregiver_id)
    except ValueError:
        raise Refusal(403, "forbidden", "the token's caregiver_id is not an id") from None
    async with request.app.state.pool.acquire() as conn:
        rows = await store_pairings.pairings_of_caregiver(conn, caregiver_id, include_ended=include_ended)
    return page.of_sequence([_own_pairing_out(row) for row in rows])


@router.get("/caregivers/{caregiver_id}/pairings", response_model=Page[CaregiverPairingOut])
async def caregiver_pairings(caregiver_id: UUID, request: Request,
                             principal: Caller,
                             page: Paging, include_ended: Annotated[bool, Query()] = False) -> dict[str, Any]:
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        caregiver = await store.get_caregiver(conn, caregiver_id)
        if caregiver is None or not principal.covers(commands.deepest_code(caregiver)):
            raise Refusal(404, "not_found", "no such caregiver")
        rows = await store_pairings.pairings_of_caregiver(conn, caregiver_id, include_ended=include_ended)
    # A school head sees a caregiver's pairings with their own school's children only.
    return page.of_sequence([{**_own_pairing_out(row), "child_status": row["child_status"]} for row in rows
                             if principal.covers_school(row["school_id"])])

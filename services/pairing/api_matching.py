"""Matching routes: propose an optimal assignment for a jurisdiction's unpaired children,
read it, accept it in whole or in part."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from services.pairing import commands, domain, store_matching, store_pairings
from services.pairing.domain_matching import MatchCaregiver, MatchChild, MatchCosts, solve
from services.pairing.api_models import Acceptance, Proposal, ProposalMade
from shared import idempotency
from shared.auth import Principal, scope_prefix
from shared.pagination import PageRequest, paged
from shared.conditional import IdempotencyKey
from shared.rules import Refusal, RuleViolation
from shared.clean_text import CleanInput
from shared.routes import Caller, require_staff, today, transaction

router = APIRouter(prefix="/v1/matching", tags=["matching"])


class ProposalIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    jurisdiction: str | None = Field(default=None, pattern=r"^\d{12}$",
                                     description="a county, township or village code; default your whole scope")


class AcceptIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    child_ids: list[UUID] | None = Field(default=None, max_length=100_000,
                                         description="the items to accept; omit to accept every open item")


def build_problem(children: list[asyncpg.Record], caregivers: list[asyncpg.Record]
                  ) -> tuple[list[MatchChild], list[MatchCaregiver]]:
    match_children = [MatchChild(commands.child_place(row), priority=row["priority"]) for row in children]
    match_caregivers = []
    for row in caregivers:
        county = {row["kind"]: row["county_capacity"]} if row["county_capacity"] is not None else {}
        capacity = domain.effective_capacity(row["kind"], row["capacity_override"], county)
        place = domain.CaregiverPlace(row["township_code"], row["village_code"], row["school_id"])
        match_caregivers.append(MatchCaregiver(place, load=row["load"], capacity=capacity))
    return match_children, match_caregivers


def _location(summary: Any) -> dict[str, str]:
    """Where the created proposal is read (also on an Idempotency-Key replay)."""
    created = summary.get("id") if isinstance(summary, dict) else None
    return {"Location": f"{router.prefix}/proposals/{created}"} if created else {}


@router.post("/proposals", status_code=201, response_model=ProposalMade)
async def propose(body: ProposalIn, request: Request,
                  principal: Caller,
                  key: IdempotencyKey = None) -> Any:
    """Proposes caregivers for every unpaired child of the jurisdiction: priority children
    first, same school or village before same township, load balanced, capacity never
    exceeded. Nothing is paired until the proposal is accepted. With an Idempotency-Key a
    retry answers the first proposal instead of solving again."""
    require_staff(principal)
    code = body.jurisdiction or principal.jurisdiction
    prefix = scope_prefix(code)
    if not prefix.startswith(principal.scope_prefix):
        raise RuleViolation("body.jurisdiction", "outside your jurisdiction", 403)
    fingerprint = idempotency.request_fingerprint({"jurisdiction": code})
    if key is not None:
        async with transaction(request) as conn:
            stored = await idempotency.begin(conn, principal.subject, key, fingerprint)
        if stored is not None:
            return JSONResponse(stored[1], status_code=stored[0], headers=_location(stored[1]))

    costs = MatchCosts(candidates_per_level=request.app.state.settings.matching_candidates_per_level)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):  # one consistent picture
            children = await store_pairings.unpaired_children(conn, prefix)
            caregivers = await store_matching.matchable_caregivers(conn, prefix)
    started = time.perf_counter()
    # CPU-bound for seconds at county scale: off the event loop, so the API keeps answering.
    assignments = await asyncio.to_thread(lambda: solve(*build_problem(children, caregivers), costs))
    solve_ms = int((time.perf_counter() - started) * 1000)
    proposal_id = uuid.uuid4()
    items = [(proposal_id, children[a.child]["id"], caregivers[a.caregiver]["id"], a.level, a.cost)
             for a in assignments]
    placed = {a.child for a in assignments}
    summary = jsonable_encoder({
        "id": proposal_id, "jurisdiction": code, "children_considered": len(children),
        "caregivers_considered": len(caregivers), "proposed": len(assignments),
        "left_unpaired": len(children) - len(assignments),
        "priority_children": sum(1 for row in children if row["priority"]),
        "priority_proposed": sum(1 for index in placed if children[index]["priority"]),
        "by_level": {level: sum(1 for a in assignments if a.level == level)
                     for level in ("school", "village", "township")},
        "solve_ms": solve_ms})
    async with transaction(request) as conn:
        if key is not None:  # a concurrent retry may have finished first: its answer stands
            stored = await idempotency.begin(conn, principal.subject, key, fingerprint)
            if stored is not None:
                return JSONResponse(stored[1], status_code=stored[0], headers=_location(stored[1]))
        await store_matching.insert_proposal(
            conn, proposal_id=proposal_id, jurisdiction=code, created_by=principal.subject,
            children_considered=len(children), caregivers_considered=len(caregivers), solve_ms=solve_ms,
            items=items)
        if key is not None:
            await idempotency.remember(conn, principal.subject, key, fingerprint, 201, summary)
    return JSONResponse(summary, status_code=201, headers=_location(summary))


async def _visible_proposal(conn: asyncpg.Connection, principal: Principal, proposal_id: UUID) -> asyncpg.Record:
    proposal = await store_matching.get_proposal(conn, proposal_id)
    if proposal is None or not scope_prefix(proposal["jurisdiction"]).startswith(principal.scope_prefix):
        raise Refusal(404, "not_found", "no such proposal")
    return proposal


def _item_out(row: Any) -> dict[str, Any]:
    return {"child_id": row["child_id"], "caregiver_id": row["caregiver_id"], "match_level": row["match_level"],
            "priority": row["priority"], "township_code": row["township_code"], "status": row["status"],
            "refusal": row["refusal"], "pairing_id": row["pairing_id"]}


@router.get("/proposals/{proposal_id}", response_model=Proposal)
async def read_proposal(proposal_id: UUID, request: Request,
                        principal: Caller,
                        page: Annotated[PageRequest, Depends(paged(default=500, maximum=5000))]) -> dict[str, Any]:
    """The proposal and a page of its items (priority children first); `next_cursor` leads
    to the next page of items, as in every list."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        proposal = await _visible_proposal(conn, principal, proposal_id)
        rows = await store_matching.proposal_items(conn, proposal_id, limit=page.fetch,
                                                   after=page.after(bool, str, UUID, UUID))
    items = page.keyset(rows, key=lambda row: (row["priority"], row["township_code"], row["caregiver_id"],
                                               row["child_id"]), items=[_item_out(row) for row in rows])
    return {"id": proposal["id"], "jurisdiction": proposal["jurisdiction"], "created_at": proposal["created_at"],
            "children_considered": proposal["children_considered"],
            "caregivers_considered": proposal["caregivers_considered"],
            "items_total": proposal["items"], "open": proposal["open_items"],
            "accepted": proposal["accepted_items"], "refused": proposal["refused_items"],
            "items": items["items"], "next_cursor": items["next_cursor"]}


@router.post("/proposals/{proposal_id}/accept", response_model=Acceptance, response_model_exclude_unset=True)
async def accept(proposal_id: UUID, body: AcceptIn, request: Request,
                 principal: Caller) -> dict[str, Any]:
    """Accepts the proposal, or the listed items of it. Each item is checked again as if it
    were made by hand (child still active and unpaired, caregiver active, a free place,
    coverage); those that still hold become pairings (lead), the rest are refused with
    their reason. One transaction; one savepoint per item."""
    require_staff(principal)
    accepted_on = today(request)
    results: list[dict[str, Any]] = []
    async with transaction(request) as conn:
        await _visible_proposal(conn, principal, proposal_id)
        items = await store_matching.proposal_items(conn, proposal_id, child_ids=body.child_ids)
        if body.child_ids is not None:
            missing = set(body.child_ids) - {row["child_id"] for row in items}
            if missing:
                raise RuleViolation("body.child_ids", f"{len(missing)} not in this proposal")
        # Caregiver rows are locked in one order by every acceptance: no deadlock between two.
        for item in sorted(items, key=lambda row: (str(row["caregiver_id"]), str(row["child_id"]))):
            if item["status"] != "proposed":
                results.append({"child_id": item["child_id"], "outcome": "already_decided", "status": item["status"]})
                continue
            results.append(await _accept_item(conn, principal, proposal_id, item, accepted_on))
    accepted = sum(1 for r in results if r["outcome"] == "accepted")
    return {"proposal_id": proposal_id, "accepted": accepted,
            "refused": sum(1 for r in results if r["outcome"] == "refused"),
            "already_decided": sum(1 for r in results if r["outcome"] == "already_decided"),
            "items": results}


async def _accept_item(conn: asyncpg.Connection, principal: Principal, proposal_id: UUID, item: Any,
                       started_on: date) -> dict[str, Any]:
    try:
        async with conn.transaction():
            pairing = await commands.create_pairing(
                conn, child_id=item["child_id"], caregiver_id=item["caregiver_id"], role="lead",
                started_on=started_on, created_by=principal.subject, proposal_id=proposal_id)
    except domain.Refusal as refusal:
        await store_matching.decide_item(conn, proposal_id, item["child_id"], status="refused",
                                         refusal=refusal.reason)
        return {"child_id": item["child_id"], "outcome": "refused", "reason": refusal.reason,
                "message": refusal.message, **refusal.extra}
    except asyncpg.UniqueViolationError:
        await store_matching.decide_item(conn, proposal_id, item["child_id"], status="refused",
                                         refusal="already_paired")
        return {"child_id": item["child_id"], "outcome": "refused", "reason": "already_paired",
                "message": "a concurrent request paired this child"}
    await store_matching.decide_item(conn, proposal_id, item["child_id"], status="accepted", pairing_id=pairing["id"])
    return {"child_id": item["child_id"], "outcome": "accepted", "pairing_id": pairing["id"],
            "caregiver_id": item["caregiver_id"]}

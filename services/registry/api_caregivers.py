"""The caregiver's children (我的帮扶对象): the cards of the children a caregiver is paired
with now (with the township, village and school by name), and their growth notes.

Access follows the registry's own projection of pairing's events: it begins with
PairingCreated and ends with PairingEnded; a child not (or no longer) paired with the
caller answers 404, like a record outside a staff member's jurisdiction. Names and phones
are in clear, because calling the family is the caregiver's job; every read is written to
the audit trail with the purpose 帮扶联系, which the caregiver need not state.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from services.registry import commands, privacy, store, store_pairings, store_schools
from services.registry.division_cache import divisions_of
from services.registry.encrypted_columns import GROWTH_NOTE
from services.registry.models import GrowthNoteIn
from services.registry.models_out import CaregiverGrowthNotes, ChildCard, ChildCards, GrowthNoteOut
from shared.auth import Principal
from shared.pagination import Paging
from shared.purpose import RELATION_PURPOSES
from shared.routes import Caller, cipher_of, today
from shared.scope import not_found
from shared.rules import Refusal

router = APIRouter(prefix="/v1/me", tags=["caregiver"])
CARE_PURPOSE = RELATION_PURPOSES["paired_caregiver"]


def caregiver_of(principal: Principal) -> UUID:
    """The caller's caregiver id: role `caregiver` with a `caregiver_id` claim, else 403."""
    if not principal.has_role("caregiver") or not principal.caregiver_id:
        raise Refusal(403, "forbidden", "only a caregiver has paired children")
    try:
        return UUID(str(principal.caregiver_id))
    except ValueError:
        raise Refusal(403, "forbidden", "the token's caregiver_id is not a caregiver id") from None


async def _audit(conn: asyncpg.Connection, principal: Principal, action: str, ids: list[UUID],
                 fields: list[str]) -> None:
    await store.record_sensitive_read(conn, subject=principal.subject, roles=sorted(principal.roles),
                                      action=action, record_ids=ids, fields=fields, purpose=CARE_PURPOSE)


async def _placed(request: Request, conn: asyncpg.Connection, bodies: list[dict]) -> list[dict]:
    """The cards with where the child lives and studies, by name: the township and village
    from the division register, the school from the county's school register."""
    places = divisions_of(request)
    await places.load(conn, (body["jurisdiction"]["county_code"] for body in bodies))
    schools = await store_schools.school_names(conn, sorted({b["school_id"] for b in bodies if b["school_id"]}))
    for body in bodies:
        where, register = body["jurisdiction"], places.county(body["jurisdiction"]["county_code"])
        body["place"] = {"township_code": where["township_code"], "township_name": register.name_of(where["township_code"]),
                         "village_code": where.get("village_code"),
                         "village_name": register.name_of(where["village_code"]) if where.get("village_code") else None,
                         "school_id": body["school_id"], "school_name": schools.get(body["school_id"] or "")}
    return bodies


async def _paired_child(conn: asyncpg.Connection, principal: Principal, child_id: UUID) -> asyncpg.Record:
    row = await store_pairings.my_child(conn, caregiver_of(principal), principal.scope_prefix, child_id)
    if row is None:
        raise not_found("child")
    return row


@router.get("/children", response_model=ChildCards)
async def my_children(request: Request, principal: Caller, page: Paging) -> JSONResponse:
    """Every child the caller is paired with now (lead or helper), by name."""
    caregiver_id = caregiver_of(principal)
    cipher, day = cipher_of(request), today(request)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            rows = page.of_sequence(await store_pairings.my_children(conn, caregiver_id, principal.scope_prefix))
            views = [privacy.caregiver_card(row, cipher, today=day) for row in rows["items"]]
            if views:
                await _audit(conn, principal, "caregiver_list", [row["id"] for row in rows["items"]],
                             sorted({field for view in views for field in view.revealed}))
        items = await _placed(request, conn, [view.body for view in views])
    return JSONResponse({**rows, "items": items})


@router.get("/children/{child_id}", response_model=ChildCard)
async def my_child(child_id: UUID, request: Request, principal: Caller) -> JSONResponse:
    """One paired child's card: who the child is, where, and whom to call."""
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row = await _paired_child(conn, principal, child_id)
            view = privacy.caregiver_card(row, cipher_of(request), today=today(request))
            await _audit(conn, principal, "caregiver_card", [child_id], list(view.revealed))
        [card] = await _placed(request, conn, [view.body])
    return JSONResponse(card)


@router.post("/children/{child_id}/growth-notes", status_code=status.HTTP_201_CREATED,
             response_model=GrowthNoteOut)
async def add_growth_note(child_id: UUID, body: GrowthNoteIn, request: Request, principal: Caller) -> JSONResponse:
    """A dated note in the paired child's growth record (成长记录), encrypted at rest."""
    caregiver_of(principal)
    note_id, note_enc = commands.sealed_growth_note(cipher_of(request), today(request), body)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            await _paired_child(conn, principal, child_id)
            row = await store.add_growth_note(conn, note_id=note_id, child_id=child_id, noted_on=body.noted_on,
                                              area=body.area, note_enc=note_enc, author=principal.subject)
    return JSONResponse({"id": str(row["id"]), "noted_on": row["noted_on"].isoformat(), "area": row["area"]},
                        status_code=status.HTTP_201_CREATED)


@router.get("/children/{child_id}/growth-notes", response_model=CaregiverGrowthNotes)
async def list_growth_notes(child_id: UUID, request: Request, principal: Caller, page: Paging) -> JSONResponse:
    """The paired child's whole growth record, texts in clear (audited): the notes of
    teachers and earlier caregivers are what the caregiver builds on."""
    cipher = cipher_of(request)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            await _paired_child(conn, principal, child_id)
            rows = page.of_sequence(await store.list_growth_notes(conn, child_id))
            if rows["items"]:
                await _audit(conn, principal, "caregiver_growth_notes", [child_id], ["growth_notes.text"])
    items = [{"id": str(r["id"]), "noted_on": r["noted_on"].isoformat(), "area": r["area"], "author": r["author"],
              "text": cipher.decrypt(r["note_enc"], context=GROWTH_NOTE.context(r["id"]))} for r in rows["items"]]
    return JSONResponse({**rows, "items": items})

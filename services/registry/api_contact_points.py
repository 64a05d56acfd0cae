"""What notify reads of the registry, with its own credentials, at the moment it sends or
shows a notice: the guardians' contact points and the children's names. These are the only
reads of personal data another service makes of the registry. Staff read the names of a
work list's children the same way (their jurisdiction, a school's staff their school).

Only what a notice needs leaves: each guardian's and parent's entry id, relation and phone
(never a name or an address), and the child's name (composed into the text at send time, never carried in an
event). Phones follow the purpose rule (shared/purpose.py): in clear only to a caller with
`view_sensitive` that states its purpose (notify sends "notification delivery"), masked for
anyone else. Every clear read is written to the audit trail with the caller and its purpose.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import ConfigDict, Field

from services.registry import privacy, store
from services.registry.identity import mask_phone
from services.registry.models_out import ChildNames
from shared.clean_text import CleanInput
from shared.purpose import StatedPurposeHeader, clear_purpose
from shared.routes import Caller, STAFF_ROLES, cipher_of
from shared.rules import Refusal
from services.registry.division_cache import divisions_of

router = APIRouter(prefix="/v1", tags=["contact points"])

READERS = ("service", "admin")
PURPOSE = "notification delivery"  # recorded for a service's names read that states none
WORK_LIST_PURPOSE = "names in a work list"


@router.get("/children/{child_id}/guardian-contacts")
async def guardian_contacts(child_id: UUID, request: Request, principal: Caller,
                            stated: StatedPurposeHeader = None) -> dict:
    """The guardians who can be reached by phone, primary first: for role `service` (notify)
    or `admin`, within their jurisdiction (a record outside it answers 404). The phones are in
    clear with `view_sensitive` and `X-Purpose` (then `masked` is false and the read is
    audited), else masked."""
    if not principal.has_role(*READERS):
        raise Refusal(403, "forbidden", "只有通知服务可以读取联系方式 / only the notification service reads contact points")
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row = await store.get_child_in_scope(conn, child_id, principal.scope_prefix)
            if row is None:
                raise Refusal(404, "not_found", "没有这个档案 / no such child")
            record = privacy.open_record(row, cipher_of(request))
            purpose = clear_purpose(stated, principal)
            guardians = [{"id": guardian.get("id"), "relation": guardian["relation"],
                          "phone": guardian["phone"] if purpose else mask_phone(guardian["phone"]),
                          "entrusted": bool(guardian.get("entrusted"))}
                         for guardian in record.guardians if guardian.get("phone")]
            # The parents too (a migrant parent is sent a caregiver's note, by the entry's id).
            parents = [{"id": parent.get("id"), "relation": parent.get("relation"),
                        "phone": parent["phone"] if purpose else mask_phone(parent["phone"])}
                       for parent in record.parents if parent.get("phone")]
            if purpose and (guardians or parents):
                await store.record_sensitive_read(
                    conn, subject=principal.subject, roles=sorted(principal.roles), action="guardian_contacts",
                    record_ids=[child_id], fields=[*(["guardians.phone"] if guardians else []),
                                                   *(["parents.phone"] if parents else [])], purpose=purpose)
    return {"guardians": guardians, "parents": parents, "masked": purpose is None}


class NamesIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    ids: list[UUID] = Field(min_length=1, max_length=500)


@router.post("/children/names", response_model=ChildNames)
async def child_names(body: NamesIn, request: Request, principal: Caller,
                      stated: StatedPurposeHeader = None) -> dict:
    """The names of these children, `{"names": {id: name}, "places": {id: {township, village
    and school, each by code and name (the school's from the county's register)}}}`, for role
    `service` (notify), `admin`, and staff composing a work list (duties, overdue lists,
    pairings, the unpaired queue, caregivers' activity); a child unknown, outside the
    caller's jurisdiction or, for a school's staff, another school's is left out. Audited. A
    POST, so that a batch of ids fits and answers stay out of caches."""
    if not principal.has_role(*READERS, *STAFF_ROLES):
        raise Refusal(403, "forbidden", "staff roles or the notification service")
    purpose = stated or (PURPOSE if principal.has_role("service") else WORK_LIST_PURPOSE)
    ids = list(dict.fromkeys(body.ids))
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            rows = await store.names_in_scope(conn, ids, principal.scope_prefix, principal.school_scope)
            if rows:
                await store.record_sensitive_read(
                    conn, subject=principal.subject, roles=sorted(principal.roles), action="child_names",
                    record_ids=[row["id"] for row in rows], fields=["name"], purpose=purpose)
            places = divisions_of(request)
            await places.load(conn, (row["county_code"] for row in rows))
    return {"names": {str(row["id"]): row["name"] for row in rows},
            "places": {str(row["id"]): {
                "township_code": row["township_code"],
                "township_name": places.county(row["township_code"]).name_of(row["township_code"]),
                "village_code": row["village_code"],
                "village_name": places.county(row["township_code"]).name_of(row["village_code"])
                if row["village_code"] else None,
                "school_id": row["school_id"], "school_name": row["school_name"]} for row in rows}}

"""Visits routes: log a contact, list a child's contacts."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.visits import domain, store
from shared import idempotency, outbox
from shared.auth import Principal, require_principal
from shared.contracts import Jurisdiction
from shared.contracts.events import ContactKind

router = APIRouter(prefix="/v1", tags=["contacts"])

STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(default=None, description="The client's own id; resending it is a no-op.")
    child_id: UUID
    caregiver_id: UUID
    kind: ContactKind
    occurred_at: AwareDatetime


class ContactOut(BaseModel):
    id: UUID
    child_id: UUID
    caregiver_id: UUID
    kind: str
    occurred_at: datetime
    logged_at: datetime


def _may_log_for(principal: Principal, caregiver_id: UUID) -> bool:
    """Staff log for anyone in their scope; a caregiver logs only their own contacts."""
    return principal.has_role(*STAFF_ROLES) or (
        principal.has_role("caregiver") and principal.caregiver_id == str(caregiver_id))


@router.post("/contacts", status_code=status.HTTP_201_CREATED, response_model=ContactOut,
             responses={200: {"description": "this contact id was logged before; nothing changed"}})
async def log_contact(
    body: ContactIn,
    request: Request,
    principal: Annotated[Principal, Depends(require_principal)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    if not _may_log_for(principal, body.caregiver_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "you may log only your own contacts")
    contact = domain.NewContact(id=body.id or uuid4(), child_id=body.child_id, caregiver_id=body.caregiver_id,
                                kind=body.kind, occurred_at=body.occurred_at)
    fingerprint = idempotency.request_fingerprint(body.model_dump(mode="json"))
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            if idempotency_key is not None:
                stored = await idempotency.begin(conn, principal.subject, idempotency_key, fingerprint)
                if stored is not None:
                    return JSONResponse(stored[1], status_code=stored[0])
            child = await store.get_child_in_scope(conn, body.child_id, principal.scope_prefix)
            if child is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "no such child")
            jurisdiction = Jurisdiction(county_code=child["county_code"], township_code=child["township_code"],
                                        village_code=child["village_code"])
            try:
                event = domain.log_contact(contact, child_status=child["status"], jurisdiction=jurisdiction,
                                           now=datetime.now(timezone.utc))
            except domain.RuleViolation as violation:
                raise HTTPException(violation.status_code,
                                    [{"field": f"body.{violation.field}", "reason": violation.reason}]) from None
            created = await store.insert_contact(conn, contact, jurisdiction, logged_by=principal.subject)
            if created:
                await outbox.add(conn, event)
            row = await store.get_contact(conn, contact.id)
            if row["child_id"] != contact.child_id:
                raise HTTPException(status.HTTP_409_CONFLICT, "this contact id belongs to another contact")
            response = ContactOut(**dict(row)).model_dump(mode="json")
            status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
            if idempotency_key is not None:
                await idempotency.remember(conn, principal.subject, idempotency_key, fingerprint,
                                           status_code, response)
    return JSONResponse(response, status_code=status_code)


@router.get("/children/{child_id}/contacts", response_model=list[ContactOut])
async def list_child_contacts(child_id: UUID, request: Request,
                              principal: Annotated[Principal, Depends(require_principal)],
                              limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[ContactOut]:
    if not principal.has_role(*STAFF_ROLES):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "staff roles only")
    async with request.app.state.pool.acquire() as conn:
        if await store.get_child_in_scope(conn, child_id, principal.scope_prefix) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such child")
        rows = await store.list_contacts_for_child(conn, child_id, limit)
    return [ContactOut(**dict(row)) for row in rows]

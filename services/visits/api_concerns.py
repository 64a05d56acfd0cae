"""The concern workflow: township and county staff see open concerns first (mandatory
reports on top) and acknowledge them, saying whom they referred them to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.visits import domain, store_concerns
from services.visits.api_common import CONCERN_HANDLERS, STAFF_ROLES, require_staff
from services.visits.encrypted_columns import CONCERN_ACK_NOTE, CONCERN_DETAIL
from shared import audit, outbox
from shared.auth import Principal, require_principal
from shared.clean_text import CleanInput, MultiLineText
from shared.contracts import Jurisdiction
from shared.conditional import IfMatch, etag, parse_if_match, stale
from shared.purpose import StatedPurpose, clear_purpose

router = APIRouter(prefix="/v1", tags=["concerns"])


class ConcernOut(BaseModel):
    id: UUID
    contact_id: UUID
    child_id: UUID
    severity: str
    mandatory_report: bool
    raised_at: datetime
    township_code: str
    status: str
    escalation_level: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    referred_to: list[str]
    version: int
    # The nature of the concern: only with view_sensitive and a stated purpose (shared/purpose.py).
    category: str | None = None
    detail: str | None = None
    acknowledgement_note: str | None = None


class AcknowledgementIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    referred_to: list[Literal["police", "civil_affairs"]] = Field(default_factory=list, max_length=2)
    note: MultiLineText | None = Field(default=None, max_length=2000)


def _shown(row: asyncpg.Record) -> list[str]:
    return ["category", *(["detail"] if row["detail_enc"] else []),
            *(["acknowledgement_note"] if row["ack_note_enc"] else [])]


async def _audit(conn: asyncpg.Connection, principal: Principal, rows: list[asyncpg.Record], purpose: str) -> None:
    if rows:
        await audit.record_principal_read(conn, principal, action="read", record_kind="concern",
                                          record_ids=[row["id"] for row in rows],
                                          fields={field for row in rows for field in _shown(row)}, purpose=purpose)


def _out(row: asyncpg.Record, request: Request, sensitive: bool) -> ConcernOut:
    out = ConcernOut(id=row["id"], contact_id=row["contact_id"], child_id=row["child_id"], severity=row["severity"],
                     mandatory_report=row["mandatory_report"], raised_at=row["raised_at"],
                     township_code=row["township_code"], status=row["status"],
                     escalation_level=row["escalation_level"], acknowledged_by=row["acknowledged_by"],
                     acknowledged_at=row["acknowledged_at"], referred_to=list(row["referred_to"]),
                     version=row["version"])
    if sensitive:
        cipher = request.app.state.cipher
        out.category = row["category"]
        if row["detail_enc"]:
            out.detail = cipher.decrypt(row["detail_enc"], context=CONCERN_DETAIL.context(row["id"]))
        if row["ack_note_enc"]:
            out.acknowledgement_note = cipher.decrypt(row["ack_note_enc"], context=CONCERN_ACK_NOTE.context(row["id"]))
    return out


@router.get("/concerns", response_model=list[ConcernOut])
async def list_concerns(request: Request, principal: Annotated[Principal, Depends(require_principal)],
                        status_filter: Annotated[Literal["open", "acknowledged"] | None, Query(alias="status")] = "open",
                        township_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                        child_id: UUID | None = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100,
                        stated: StatedPurpose = None) -> list[ConcernOut]:
    require_staff(principal, STAFF_ROLES)
    purpose = clear_purpose(stated, principal)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        rows = await store_concerns.list_concerns(conn, scope_prefix=principal.scope_prefix, status=status_filter,
                                                  township_code=township_code, child_id=child_id, limit=limit,
                                                  school_id=principal.school_scope)
        if purpose is not None:
            await _audit(conn, principal, rows, purpose)
    return [_out(row, request, purpose is not None) for row in rows]


@router.get("/concerns/{concern_id}", response_model=ConcernOut)
async def get_concern(concern_id: UUID, request: Request, response: Response,
                      principal: Annotated[Principal, Depends(require_principal)],
                      stated: StatedPurpose = None) -> ConcernOut:
    require_staff(principal, STAFF_ROLES)
    purpose = clear_purpose(stated, principal)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await store_concerns.get_concern(conn, concern_id, principal.scope_prefix,
                                               school_id=principal.school_scope)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such concern")
        if purpose is not None:
            await _audit(conn, principal, [row], purpose)
    response.headers["ETag"] = etag(row["version"])
    return _out(row, request, purpose is not None)


@router.post("/concerns/{concern_id}/acknowledgement", response_model=ConcernOut,
             responses={409: {"description": "acknowledged already"}, 412: {"description": "If-Match is stale"}})
async def acknowledge_concern(concern_id: UUID, body: AcknowledgementIn, request: Request, response: Response,
                              principal: Annotated[Principal, Depends(require_principal)],
                              if_match: IfMatch = None, stated: StatedPurpose = None) -> ConcernOut:
    """Township or county staff take the concern on. A mandatory-report concern (suspected
    abuse, neglect or violence) must say whom it was referred to (police, civil affairs)."""
    require_staff(principal, CONCERN_HANDLERS)
    purpose = clear_purpose(stated, principal)
    expected_version = parse_if_match(if_match)
    now = request.app.state.settings.clock.now()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await store_concerns.get_concern(conn, concern_id, principal.scope_prefix, for_update=True,
                                               school_id=principal.school_scope)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such concern")
        if expected_version is not None and expected_version != row["version"]:
            raise stale(row["version"])
        event = domain.acknowledge(
            child_id=row["child_id"], concern_id=concern_id, status=row["status"],
            referred_to=tuple(body.referred_to), mandatory_report=row["mandatory_report"],
            jurisdiction=Jurisdiction(county_code=row["county_code"], township_code=row["township_code"],
                                      village_code=row["village_code"]), now=now)
        note = request.app.state.cipher.encrypt(body.note, context=CONCERN_ACK_NOTE.context(concern_id)) \
            if body.note else None
        updated = await store_concerns.acknowledge(conn, concern_id, by=principal.subject, at=now,
                                                   referred_to=sorted(set(body.referred_to)), note_enc=note)
        await outbox.add(conn, event)
        if purpose is not None:
            await _audit(conn, principal, [updated], purpose)
    response.headers["ETag"] = etag(updated["version"])
    return _out(updated, request, purpose is not None)

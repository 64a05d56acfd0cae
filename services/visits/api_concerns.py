"""The concern workflow: township and county staff see open concerns first (mandatory
reports on top) and acknowledge them, saying whom they referred them to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.visits import domain, domain_cases, store_cases, store_concerns
from services.visits.encrypted_columns import CONCERN_ACK_NOTE, CONCERN_CLOSURE_NOTE, CONCERN_DETAIL
from shared import audit, outbox
from shared.auth import Principal
from shared.pagination import Page, Paging
from shared.scope import require_division_filter
from shared.clean_text import CleanInput, MultiLineText
from shared.contracts import Jurisdiction
from shared.conditional import IfMatch, etag, parse_if_match, stale
from shared.purpose import StatedPurpose, clear_purpose
from shared.rules import Refusal, RuleViolation
from services.visits.domain import CONCERN_HANDLERS
from shared.routes import Caller, STAFF_ROLES, require_roles

router = APIRouter(prefix="/v1", tags=["concerns"])


class ReferralOut(BaseModel):
    agency: str
    agency_name: str
    referred_at: datetime
    referred_by: str
    accepted_at: datetime | None
    case_number: str | None  # the agency's own number (立案/受理编号)


class HistoryOut(BaseModel):
    state: str
    entered_at: datetime
    entered_by: str
    deadline: datetime | None


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
    # The case: when the next step is due and how far up the ladder a missed deadline went
    # (0 none, 1 township, 2 county).
    state_deadline: datetime | None = None
    deadline_level: int = 0
    closed_at: datetime | None = None
    # On reads of one concern (and the answers of its steps): referrals and the history.
    referrals: list[ReferralOut] | None = None
    history: list[HistoryOut] | None = None
    # The nature of the concern and of its outcome: only with view_sensitive and a stated purpose
    # (shared/purpose.py).
    category: str | None = None
    detail: str | None = None
    acknowledgement_note: str | None = None
    outcome: str | None = None
    closing_note: str | None = None


class AcknowledgementIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    # Codes of the county's agencies (GET /v1/concern-agencies): where it is to be referred.
    referred_to: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]] = Field(
        default_factory=list, max_length=10)
    note: MultiLineText | None = Field(default=None, max_length=2000)


def _shown(row: asyncpg.Record) -> list[str]:
    return ["category", *(["detail"] if row["detail_enc"] else []),
            *(["acknowledgement_note"] if row["ack_note_enc"] else []),
            *(["outcome"] if row["outcome"] else []), *(["closing_note"] if row["closure_note_enc"] else [])]


async def audit_clear_read(conn: asyncpg.Connection, principal: Principal, rows: list[asyncpg.Record],
                           purpose: str) -> None:
    if rows:
        await audit.record_principal_read(conn, principal, action="read", record_kind="concern",
                                          record_ids=[row["id"] for row in rows],
                                          fields={field for row in rows for field in _shown(row)}, purpose=purpose)


async def concern_out(conn: asyncpg.Connection, row: asyncpg.Record, request: Request, sensitive: bool, *,
                      detail: bool = False) -> ConcernOut:
    """A concern as the API shows it; `detail` adds its referrals and history (one concern).
    `sensitive`: the caller may see the nature in clear (clear_purpose) and the read is audited."""
    out = ConcernOut(id=row["id"], contact_id=row["contact_id"], child_id=row["child_id"], severity=row["severity"],
                     mandatory_report=row["mandatory_report"], raised_at=row["raised_at"],
                     township_code=row["township_code"], status=row["status"],
                     escalation_level=row["escalation_level"], acknowledged_by=row["acknowledged_by"],
                     acknowledged_at=row["acknowledged_at"], referred_to=list(row["referred_to"]),
                     version=row["version"], state_deadline=row["state_deadline"],
                     deadline_level=row["deadline_level"], closed_at=row["closed_at"])
    if detail:
        out.referrals = [ReferralOut(agency=r["agency_code"], agency_name=r["agency_name"],
                                     referred_at=r["referred_at"], referred_by=r["referred_by"],
                                     accepted_at=r["accepted_at"], case_number=r["case_number"])
                         for r in await store_cases.referrals(conn, row["id"])]
        out.history = [HistoryOut(state=h["state"], entered_at=h["entered_at"], entered_by=h["entered_by"],
                                  deadline=h["deadline"]) for h in await store_cases.history(conn, row["id"])]
    if sensitive:
        cipher = request.app.state.cipher
        out.category = row["category"]
        out.outcome = row["outcome"]
        if row["detail_enc"]:
            out.detail = cipher.decrypt(row["detail_enc"], context=CONCERN_DETAIL.context(row["id"]))
        if row["ack_note_enc"]:
            out.acknowledgement_note = cipher.decrypt(row["ack_note_enc"], context=CONCERN_ACK_NOTE.context(row["id"]))
        if row["closure_note_enc"]:
            out.closing_note = cipher.decrypt(row["closure_note_enc"],
                                              context=CONCERN_CLOSURE_NOTE.context(row["id"]))
    return out


@router.get("/concerns", response_model=Page[ConcernOut])
async def list_concerns(request: Request, principal: Caller,
                        page: Paging,
                        status_filter: Annotated[Literal["open", "acknowledged", "referred", "accepted", "following_up",
                                                          "closed", "all"] | None, Query(alias="status")] = "open",
                        township_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                        child_id: UUID | None = None, stated: StatedPurpose = None) -> dict[str, Any]:
    """Open ones first, mandatory reports first, newest first; open ones unless a status is
    asked for (`all`: every state). A township outside the caller's scope is refused (403)."""
    require_roles(principal, *STAFF_ROLES)
    require_division_filter(principal, "township_code", township_code)
    purpose = clear_purpose(stated, principal)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        rows = await store_concerns.list_concerns(conn, scope_prefix=principal.scope_prefix,
                                                  status=None if status_filter == "all" else status_filter,
                                                  township_code=township_code, child_id=child_id, limit=page.fetch,
                                                  after=page.after(bool, bool, datetime, UUID),
                                                  school_id=principal.school_scope)
        shown = rows[: page.limit]
        if purpose is not None:
            await audit_clear_read(conn, principal, shown, purpose)
        items = [await concern_out(conn, row, request, purpose is not None) for row in shown]
    return page.keyset(rows, key=lambda row: (row["status"] == "open", row["mandatory_report"], row["raised_at"],
                                              row["id"]),
                       items=items)


@router.get("/concerns/{concern_id}", response_model=ConcernOut)
async def get_concern(concern_id: UUID, request: Request, response: Response,
                      principal: Caller,
                      stated: StatedPurpose = None) -> ConcernOut:
    require_roles(principal, *STAFF_ROLES)
    purpose = clear_purpose(stated, principal)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await store_concerns.get_concern(conn, concern_id, principal.scope_prefix,
                                               school_id=principal.school_scope)
        if row is None:
            raise Refusal(404, "not_found", "no such concern")
        if purpose is not None:
            await audit_clear_read(conn, principal, [row], purpose)
        out = await concern_out(conn, row, request, purpose is not None, detail=True)
    response.headers["ETag"] = etag(row["version"])
    return out


@router.post("/concerns/{concern_id}/acknowledgement", response_model=ConcernOut,
             responses={409: {"description": "acknowledged already"}, 412: {"description": "If-Match is stale"}})
async def acknowledge_concern(concern_id: UUID, body: AcknowledgementIn, request: Request, response: Response,
                              principal: Caller,
                              if_match: IfMatch = None, stated: StatedPurpose = None) -> ConcernOut:
    """Township or county staff take the concern on. A mandatory-report concern (suspected
    abuse, neglect or violence) must say where it is to be referred (the county's agencies);
    the case then has until its deadline to be referred (or, if not mandatory, closed)."""
    require_roles(principal, *CONCERN_HANDLERS)
    purpose = clear_purpose(stated, principal)
    expected_version = parse_if_match(if_match)
    settings = request.app.state.settings
    now = settings.clock.now()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await store_concerns.get_concern(conn, concern_id, principal.scope_prefix, for_update=True,
                                               school_id=principal.school_scope)
        if row is None:
            raise Refusal(404, "not_found", "no such concern")
        if expected_version is not None and expected_version != row["version"]:
            raise stale(row["version"])
        active = {a["code"] for a in await store_cases.agencies(conn, row["county_code"]) if a["active"]}
        if set(body.referred_to) - active:
            raise RuleViolation("referred_to", "is not an active agency of this county")
        jurisdiction = Jurisdiction(county_code=row["county_code"], township_code=row["township_code"],
                                    village_code=row["village_code"])
        event = domain.acknowledge(
            child_id=row["child_id"], concern_id=concern_id, status=row["status"],
            referred_to=tuple(body.referred_to), mandatory_report=row["mandatory_report"],
            jurisdiction=jurisdiction, now=now)
        due = domain_cases.deadline("acknowledged", since=now, mandatory_report=row["mandatory_report"],
                                    hours=settings.case_deadline_hours,
                                    mandatory_hours=settings.mandatory_case_deadline_hours)
        note = request.app.state.cipher.encrypt(body.note, context=CONCERN_ACK_NOTE.context(concern_id)) \
            if body.note else None
        updated = await store_concerns.acknowledge(conn, concern_id, by=principal.subject, at=now,
                                                   referred_to=sorted(set(body.referred_to)), note_enc=note,
                                                   deadline=due)
        await outbox.add(conn, event)
        await outbox.add(conn, domain_cases.state_changed(
            child_id=row["child_id"], concern_id=concern_id, state="acknowledged", at=now, due=due,
            mandatory_report=row["mandatory_report"], jurisdiction=jurisdiction))
        if purpose is not None:
            await audit_clear_read(conn, principal, [updated], purpose)
        out = await concern_out(conn, updated, request, purpose is not None, detail=True)
    response.headers["ETag"] = etag(updated["version"])
    return out

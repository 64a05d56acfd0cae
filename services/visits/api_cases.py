"""A concern's case after acknowledgement: referred to the county's agencies, accepted by
one with its case number, followed up with dated notes, closed with an outcome. Each step
moves the state, sets the next deadline and publishes ConcernStateChanged (state and
deadline only) in the same transaction."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.visits import domain_cases, store_cases, store_concerns
from services.visits.api_concerns import ConcernOut, concern_out
from services.visits.encrypted_columns import CONCERN_CASE_NOTE, CONCERN_CLOSURE_NOTE
from shared import audit, outbox
from shared.auth import Principal
from shared.clean_text import CleanInput, MultiLineText
from shared.conditional import IfMatch, etag, parse_if_match, stale
from shared.contracts import Jurisdiction
from shared.purpose import StatedPurpose, clear_purpose
from shared.rules import Refusal, RuleViolation
from services.visits.domain import CONCERN_HANDLERS
from shared.routes import Caller, STAFF_ROLES, require_roles
from shared.pagination import decode_cursor, encode_cursor

router = APIRouter(prefix="/v1", tags=["concerns"])
AgencyCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


class ReferralIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    agencies: list[AgencyCode] = Field(min_length=1, max_length=10)


class AcceptanceIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    agency: AgencyCode
    case_number: str = Field(min_length=1, max_length=60)  # 立案/受理编号, as the agency wrote it
    accepted_at: datetime | None = None  # when the agency accepted it; now if not given


class NoteIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    noted_on: date
    note: MultiLineText = Field(min_length=1, max_length=4000)


class ClosureIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal[domain_cases.OUTCOMES]  # type: ignore[valid-type]
    note: MultiLineText | None = Field(default=None, max_length=4000)


class NoteOut(BaseModel):
    id: UUID
    noted_on: date
    written_by: str
    written_at: datetime
    note: str | None = None  # for view_sensitive only


class NotePage(BaseModel):
    items: list[NoteOut]
    next_cursor: str | None
    total: int


def _jurisdiction(row: asyncpg.Record) -> Jurisdiction:
    return Jurisdiction(county_code=row["county_code"], township_code=row["township_code"],
                        village_code=row["village_code"])


async def _locked(conn: asyncpg.Connection, concern_id: UUID, principal: Principal,
                  if_match: str | None) -> asyncpg.Record:
    expected_version = parse_if_match(if_match)
    row = await store_concerns.get_concern(conn, concern_id, principal.scope_prefix, for_update=True,
                                           school_id=principal.school_scope)
    if row is None:
        raise Refusal(404, "not_found", "no such concern")
    if expected_version is not None and expected_version != row["version"]:
        raise stale(row["version"])
    return row


async def _move(conn: asyncpg.Connection, request: Request, row: asyncpg.Record, state: str, *, by: str,
                at: datetime, reset_deadline: bool = False, extra: dict | None = None) -> asyncpg.Record:
    """Enters `state` (a new deadline, ConcernStateChanged) when it differs from the current
    one or the deadline starts again; otherwise only the version moves."""
    if state == row["status"] and not reset_deadline:
        return await store_cases.touch(conn, row["id"])
    settings = request.app.state.settings
    due = domain_cases.deadline(state, since=at, mandatory_report=row["mandatory_report"],
                                hours=settings.case_deadline_hours,
                                mandatory_hours=settings.mandatory_case_deadline_hours)
    updated = await store_cases.enter_state(conn, row["id"], state=state, at=at, by=by, deadline=due, extra=extra,
                                             new_state=state != row["status"])
    await outbox.add(conn, domain_cases.state_changed(
        child_id=row["child_id"], concern_id=row["id"], state=state, at=at, due=due,
        mandatory_report=row["mandatory_report"], jurisdiction=_jurisdiction(row)))
    return updated


async def _answer(conn: asyncpg.Connection, request: Request, response: Response, principal: Principal,
                  row: asyncpg.Record) -> ConcernOut:
    """A step's answer: the case's state, referrals and history. The nature and the notes are
    read with GET and a stated purpose (shared/purpose.py), never in a write's answer."""
    response.headers["ETag"] = etag(row["version"])
    return await concern_out(conn, row, request, False, detail=True)


@router.post("/concerns/{concern_id}/referrals", response_model=ConcernOut,
             responses={409: {"description": "not in a state to be referred, or referred there already"}})
async def refer_concern(concern_id: UUID, body: ReferralIn, request: Request, response: Response,
                        principal: Caller,
                        if_match: IfMatch = None) -> ConcernOut:
    """The concern was handed to these agencies (the county's list). From acknowledged
    (→ referred), or while referred (more agencies); the agency then has until the
    deadline to accept it."""
    require_roles(principal, *CONCERN_HANDLERS)
    now = request.app.state.settings.clock.now()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, concern_id, principal, if_match)
        listed = {a["code"]: a for a in await store_cases.agencies(conn, row["county_code"])}
        already = frozenset(r["agency_code"] for r in await store_cases.referrals(conn, concern_id))
        codes = tuple(dict.fromkeys(body.agencies))
        state = domain_cases.refer(row["status"], agencies=codes, already=already,
                                   active=frozenset(code for code, a in listed.items() if a["active"]))
        await store_cases.add_referrals(conn, concern_id, [(code, listed[code]["name"]) for code in codes],
                                        at=now, by=principal.subject)
        updated = await _move(conn, request, row, state, by=principal.subject, at=now)
        return await _answer(conn, request, response, principal, updated)


@router.post("/concerns/{concern_id}/acceptance", response_model=ConcernOut,
             responses={409: {"description": "not referred, or accepted by this agency already"}})
async def record_acceptance(concern_id: UUID, body: AcceptanceIn, request: Request, response: Response,
                            principal: Caller,
                            if_match: IfMatch = None) -> ConcernOut:
    """An agency the concern was referred to accepted it (受理/立案) under its own case number."""
    require_roles(principal, *CONCERN_HANDLERS)
    settings = request.app.state.settings
    now = settings.clock.now()
    if body.accepted_at is not None and body.accepted_at > now:
        raise RuleViolation("accepted_at", "is in the future")
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, concern_id, principal, if_match)
        referrals = await store_cases.referrals(conn, concern_id)
        state = domain_cases.accept(
            row["status"], agency=body.agency, referred=frozenset(r["agency_code"] for r in referrals),
            accepted=frozenset(r["agency_code"] for r in referrals if r["accepted_at"] is not None))
        await store_cases.accept_referral(conn, concern_id, body.agency, at=body.accepted_at or now,
                                          by=principal.subject, case_number=body.case_number)
        updated = await _move(conn, request, row, state, by=principal.subject, at=now)
        return await _answer(conn, request, response, principal, updated)


@router.post("/concerns/{concern_id}/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "the case is not open for notes"}})
async def add_note(concern_id: UUID, body: NoteIn, request: Request,
                   principal: Caller) -> NoteOut:
    """A dated follow-up note (encrypted). The first after acceptance starts the follow-up;
    each one under follow-up sets the next note's deadline."""
    require_roles(principal, *CONCERN_HANDLERS)
    settings = request.app.state.settings
    now = settings.clock.now()
    if body.noted_on > settings.clock.today():
        raise RuleViolation("noted_on", "is in the future")
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, concern_id, principal, None)
        if body.noted_on < settings.clock.local_day(row["raised_at"]):
            raise RuleViolation("noted_on", "is before the concern was raised")
        state = domain_cases.note(row["status"])
        note_id = uuid.uuid4()
        cipher = request.app.state.cipher
        stored = await store_cases.add_note(
            conn, note_id=note_id, concern_id=concern_id, noted_on=body.noted_on, by=principal.subject, at=now,
            note_enc=cipher.encrypt(body.note, context=CONCERN_CASE_NOTE.context(note_id)))
        await _move(conn, request, row, state, by=principal.subject, at=now,
                    reset_deadline=state == "following_up")
    return NoteOut(id=note_id, noted_on=stored["noted_on"], written_by=stored["written_by"],
                   written_at=stored["written_at"])


@router.get("/concerns/{concern_id}/notes", response_model=NotePage)
async def list_notes(concern_id: UUID, request: Request, principal: Caller,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50,
                     cursor: Annotated[str | None, Query(max_length=200)] = None,
                     stated: StatedPurpose = None) -> NotePage:
    """The case's notes, newest first. Their text only with view_sensitive and a stated
    purpose (each such read audited)."""
    require_roles(principal, *STAFF_ROLES)
    after = decode_cursor(cursor, date, UUID) if cursor else None
    purpose = clear_purpose(stated, principal)
    sensitive = purpose is not None
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        if await store_concerns.get_concern(conn, concern_id, principal.scope_prefix,
                                            school_id=principal.school_scope) is None:
            raise Refusal(404, "not_found", "no such concern")
        rows = await store_cases.notes(conn, concern_id, after=after, limit=limit + 1)
        total = await store_cases.count_notes(conn, concern_id)
        if purpose is not None and rows:
            await audit.record_principal_read(conn, principal, action="read", record_kind="concern",
                                              record_ids=[concern_id], fields={"notes"}, purpose=purpose)
    page, more = rows[:limit], len(rows) > limit
    cipher = request.app.state.cipher
    items = [NoteOut(id=r["id"], noted_on=r["noted_on"], written_by=r["written_by"], written_at=r["written_at"],
                     note=cipher.decrypt(r["note_enc"], context=CONCERN_CASE_NOTE.context(r["id"])) if sensitive
                     else None) for r in page]
    return NotePage(items=items, total=total,
                    next_cursor=encode_cursor([page[-1]["noted_on"], page[-1]["id"]]) if more else None)


@router.post("/concerns/{concern_id}/closure", response_model=ConcernOut,
             responses={409: {"description": "closed already, or a mandatory report not yet referred"}})
async def close_concern(concern_id: UUID, body: ClosureIn, request: Request, response: Response,
                        principal: Caller,
                        if_match: IfMatch = None) -> ConcernOut:
    """结案: the case is closed with its outcome (kept with the nature of the concern:
    view_sensitive only; the event says only that it closed)."""
    require_roles(principal, *CONCERN_HANDLERS)
    now = request.app.state.settings.clock.now()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, concern_id, principal, if_match)
        referred = bool(await store_cases.referrals(conn, concern_id))
        state = domain_cases.close(row["status"], mandatory_report=row["mandatory_report"], outcome=body.outcome,
                                   has_note=bool(body.note), referred=referred)
        note_enc = request.app.state.cipher.encrypt(body.note, context=CONCERN_CLOSURE_NOTE.context(concern_id)) \
            if body.note else None
        updated = await _move(conn, request, row, state, by=principal.subject, at=now, extra={
            "outcome": body.outcome, "closed_by": principal.subject, "closed_at": now, "closure_note_enc": note_enc})
        return await _answer(conn, request, response, principal, updated)

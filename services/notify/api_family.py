"""Families: consent per guardian or parent, a caregiver's note to them by SMS (家书短信), the
messages sent and the replies, and the county's list of words a note may not contain.

Who may do what: the caregiver paired with the child (pairing's events, kept here as
`family_pairings`) writes notes and records consent; staff within the child's place read and
record consent; a county admin edits the word list. A child outside these is 404.
Family members are the registry's guardian and parent entries, named by their entry ids:
their names and phones stay in the registry (the app shows them from the child's card).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.notify import commands_family, store, store_family
from services.notify.api_admin import Code12
from services.notify.domain_delivery import quiet_until
from services.notify.domain_family import MAX_WORD_CHARS, MAX_WORDS, NOTE_MAX_CHARS, clean_words
from services.notify.encrypted_columns import FAMILY_NOTE, FAMILY_REPLY
from shared.auth import Principal
from shared.clock import DEFAULT_COUNTY_TIMEZONE
from shared.clean_text import CleanInput, MultiLineText
from shared.conditional import IfMatch, etag, put_precondition
from shared.crypto import CryptoError, FieldCipher
from shared.pagination import Page, Paging
from shared.routes import ADMIN_ROLES, STAFF_ROLES, Caller, Cipher, Idempotent, caregiver_of, require_roles, \
    transaction
from shared.rules import Refusal, RuleViolation
from shared.scope import not_found, require_in_scope

router = APIRouter(prefix="/v1", tags=["families"])

MemberKind = Literal["guardian", "parent"]
ConsentHow = Literal["in_person", "by_phone", "in_writing", "by_reply"]


class ConsentIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    member_kind: MemberKind
    opted_in: bool
    how: ConsentHow = Field(description="how the family member said so: in person, by phone, in writing, by reply")


class ConsentOut(BaseModel):
    child_id: UUID
    member_id: UUID
    member_kind: MemberKind
    opted_in: bool
    how: ConsentHow
    recorded_by: str
    recorded_at: datetime
    version: int


class NoteText(CleanInput):
    model_config = ConfigDict(extra="forbid")

    text: MultiLineText = Field(min_length=1, max_length=NOTE_MAX_CHARS)


class NoteIn(NoteText):
    member_id: UUID = Field(description="the registry's guardian or parent entry id")


class NoteCheck(BaseModel):
    words: list[str] = Field(description="the county's words found in the text; empty: it may be sent")


class ReplyOut(BaseModel):
    id: UUID
    text: str
    received_at: datetime
    opted_out: bool


class NoteOut(BaseModel):
    id: UUID
    child_id: UUID
    member_id: UUID
    member_kind: MemberKind
    caregiver_id: UUID | None = None
    text: str | None = None
    created_at: datetime
    notification_id: UUID | None = None
    status: str = "pending"
    sent_at: datetime | None = None
    waits_until: datetime | None = Field(None, description="in quiet hours: when it will be sent")
    replies: list[ReplyOut] = []


class WordsIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    words: list[str] = Field(max_length=MAX_WORDS)


class WordsOut(BaseModel):
    county_code: str
    words: list[str]
    version: int = Field(description="0 while the county uses the default list")
    default: bool


class FamilySummary(BaseModel):
    written: int
    sent: int
    waiting: int
    not_delivered: int
    children: int


async def _child(conn: asyncpg.Connection, principal: Principal, child_id: UUID, *,
                 staff_may: bool = True) -> asyncpg.Record:
    """The child, if the caller is paired with it (a caregiver) or, where `staff_may`, staff
    whose place and school cover it; else 404 (403 for a caller of neither kind)."""
    child = await store.get_child(conn, child_id)
    caregiver = caregiver_of(principal)
    if caregiver is not None:
        if child is None or not await store_family.is_paired(conn, child_id, caregiver):
            raise not_found("child")
        return child
    if not staff_may or not principal.has_role(*STAFF_ROLES):
        raise Refusal(403, "forbidden", "结对人或工作人员 / the paired caregiver or staff")
    if child is None:
        raise not_found("child")
    require_in_scope(principal, child["township_code"], "child")
    if principal.school_scope and child["school_id"] != principal.school_scope:
        raise not_found("child")
    return child


@router.get("/children/{child_id}/family-consents", response_model=Page[ConsentOut])
async def list_consents(request: Request, child_id: UUID, principal: Caller, page: Paging) -> dict[str, Any]:
    """Which of the child's guardians and parents have agreed to receive messages (and who
    recorded it, when, how); a member with no row has not been asked."""
    async with request.app.state.pool.acquire() as conn:
        await _child(conn, principal, child_id)
        return page.of_sequence([dict(row) for row in await store_family.consents(conn, child_id)])


@router.put("/children/{child_id}/family-consents/{member_id}", response_model=ConsentOut)
async def put_consent(request: Request, response: Response, child_id: UUID, member_id: UUID, body: ConsentIn,
                      principal: Caller) -> dict[str, Any]:
    """Records that a family member agreed (opted_in true) or no longer wants messages (false),
    with how they said so; the recorder and the time are the caller's and the clock's."""
    now = request.app.state.settings.clock.now()
    async with transaction(request) as conn:
        await _child(conn, principal, child_id)
        row = await commands_family.record_consent(
            conn, child_id=child_id, member_id=member_id, member_kind=body.member_kind, opted_in=body.opted_in,
            how=body.how, recorded_by=principal.subject, at=now)
    response.headers["ETag"] = etag(row["version"])
    return dict(row)


@router.post("/children/{child_id}/family-notes/check", response_model=NoteCheck)
async def check_note(request: Request, child_id: UUID, body: NoteText, principal: Caller) -> dict[str, Any]:
    """The words of the county's list the text contains, before it is sent (the send refuses
    the same words with 422)."""
    async with request.app.state.pool.acquire() as conn:
        child = await _child(conn, principal, child_id)
        return {"words": await commands_family.check_note(conn, child["county_code"], body.text)}


@router.post("/children/{child_id}/family-notes", status_code=201, response_model=NoteOut)
async def send_note(request: Request, child_id: UUID, body: NoteIn, principal: Caller, once: Idempotent,
                    cipher: Cipher) -> Any:
    """The paired caregiver's note to a guardian or parent who opted in, sent by SMS (in quiet
    hours it waits until they end: `waits_until`). 422 naming the county's words the text
    contains; 409 `not_opted_in`."""
    settings = request.app.state.settings

    async def create(conn: asyncpg.Connection) -> tuple[int, dict[str, Any]]:
        child = await _child(conn, principal, child_id, staff_may=False)
        note = await commands_family.send_note(
            conn, settings, cipher, child=child, member_id=body.member_id, text=body.text,
            caregiver_id=caregiver_of(principal), written_by=principal.subject, now=settings.clock.now())
        return 201, NoteOut(**note, text=body.text).model_dump(mode="json")

    return await once.answer(body, create)


@router.get("/children/{child_id}/family-notes", response_model=Page[NoteOut])
async def list_notes(request: Request, child_id: UUID, principal: Caller, page: Paging,
                     cipher: Cipher) -> dict[str, Any]:
    """The notes sent to this child's family, newest first, each with its SMS's state and the
    replies to it."""
    now = request.app.state.settings.clock.now()
    async with request.app.state.pool.acquire() as conn:
        await _child(conn, principal, child_id)
        rows = await store_family.notes_of_child(conn, child_id, limit=page.fetch, offset=page.offset())
        replies = await store_family.replies_of_child(conn, child_id)
    by_note: dict[UUID, list[dict[str, Any]]] = {}
    for reply in replies:
        by_note.setdefault(reply["note_id"], []).append({
            "id": reply["id"], "received_at": reply["received_at"], "opted_out": reply["opted_out"],
            "text": _open(cipher, reply["text_enc"], FAMILY_REPLY.context(reply["id"]))})
    items = [{
        "id": row["id"], "child_id": row["child_id"], "member_id": row["member_id"],
        "member_kind": row["member_kind"], "caregiver_id": row["caregiver_id"], "created_at": row["created_at"],
        "text": _open(cipher, row["body_enc"], FAMILY_NOTE.context(row["id"])),
        "notification_id": row["notification_id"], "status": row["status"] or "pending", "sent_at": row["sent_at"],
        "waits_until": _waits_until(row, now),
        "replies": by_note.get(row["id"], [])} for row in rows]
    return page.offset_page(items)


def _waits_until(row: asyncpg.Record, now: datetime) -> datetime | None:
    """When a note not yet sent will go: the end of its quiet hours if they hold now, else
    its next attempt if that is later (a retry); None once it has gone or if it goes now."""
    if row["status"] != "pending":
        return None
    quiet = quiet_until(now, row["quiet_start"], row["quiet_end"], row["quiet_timezone"] or DEFAULT_COUNTY_TIMEZONE)
    later = row["next_attempt_at"] if row["next_attempt_at"] and row["next_attempt_at"] > now else None
    return max(filter(None, (quiet, later)), default=None)


def _open(cipher: FieldCipher, token: str, context: str) -> str | None:
    try:
        return cipher.decrypt(token, context=context)
    except CryptoError:
        return None


@router.get("/family-notes/summary", response_model=FamilySummary)
async def summary(request: Request, principal: Caller, since: datetime, until: datetime) -> dict[str, Any]:
    """Notes to families written in [since, until) within the caller's place: how many, sent,
    waiting (quiet hours, retries), not delivered, and for how many children. The figures only."""
    require_roles(principal, *STAFF_ROLES)
    async with request.app.state.pool.acquire() as conn:
        return dict(await store_family.notes_sent(conn, principal.scope_prefix, since, until))


@router.get("/family-words/{county_code}", response_model=WordsOut)
async def get_words(request: Request, response: Response, county_code: Code12, principal: Caller) -> dict[str, Any]:
    """The words a note to a family may not contain in this county (the default list until
    the county saves its own)."""
    require_roles(principal, *STAFF_ROLES)
    require_in_scope(principal, county_code)
    async with request.app.state.pool.acquire() as conn:
        saved = await store_family.words_of(conn, county_code)
        words = await commands_family.words_for(conn, county_code)
    version = saved["version"] if saved else 0
    if saved:
        response.headers["ETag"] = etag(version)
    return {"county_code": county_code, "words": words, "version": version, "default": saved is None}


@router.put("/family-words/{county_code}", response_model=WordsOut)
async def put_words(request: Request, response: Response, county_code: Code12, body: WordsIn, principal: Caller,
                    if_match: IfMatch = None) -> dict[str, Any]:
    """The county's list replaced (If-Match with the version read; none needed the first time)."""
    require_roles(principal, *ADMIN_ROLES)
    require_in_scope(principal, county_code)
    words = clean_words(body.words)
    too_long = [word for word in words if len(word) > MAX_WORD_CHARS]
    if too_long:
        raise RuleViolation("body.words", f"a word is at most {MAX_WORD_CHARS} characters")
    async with transaction(request) as conn:
        row = await store_family.put_words(conn, county_code, words, put_precondition(if_match),
                                           request.app.state.settings.clock.now())
    response.headers["ETag"] = etag(row["version"])
    return {"county_code": county_code, "words": list(row["words"]), "version": row["version"], "default": False}

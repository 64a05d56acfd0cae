"""Contact routes: log a contact (with its observations, follow-ups and concerns), read
one, list them by child, caregiver, township and period."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from services.visits import domain, store, store_concerns, store_follow_ups, store_plans
from services.visits.api_models import (
    CallDetails, ContactDetail, ContactIn, ContactSummary, FollowUpOut, Location, Ratings,
)
from services.visits.encrypted_columns import CONCERN_DETAIL, CONTACT_FOLLOW_UPS, CONTACT_LOCATION, CONTACT_NOTES
from services.visits.domain_duties import duty_event, duty_kinds_met_by
from shared import audit, idempotency, outbox
from shared.auth import Principal
from shared.contracts import DutyFulfilled, DutyScheduled, Jurisdiction
from shared.contracts.events import ContactKind
from shared.crypto import FieldCipher
from shared.purpose import RELATION_PURPOSES, StatedPurposeHeader, clear_purpose
from shared.rekey import EncryptedColumn
from shared.conditional import IdempotencyKey
from shared.pagination import Page, PageRequest, Paging
from shared.scope import require_division_filter
from shared.rules import Refusal, RuleViolation
from shared.routes import Caller, caregiver_of, is_staff

router = APIRouter(prefix="/v1", tags=["contacts"])

def _summary(row: asyncpg.Record) -> ContactSummary:
    call = None
    if row["call_initiated_by"] is not None:
        call = CallDetails(initiated_by=row["call_initiated_by"], duration_minutes=row["call_minutes"] or 0)
    return ContactSummary(
        id=row["id"], child_id=row["child_id"], caregiver_id=row["caregiver_id"],
        other_caregiver_ids=list(row["other_caregiver_ids"]), kind=row["kind"], occurred_at=row["occurred_at"],
        logged_at=row["logged_at"], township_code=row["township_code"], place=row["place"],
        ratings=Ratings(study=row["rating_study"], daily_life=row["rating_daily_life"],
                        emotions=row["rating_emotions"], safety=row["rating_safety"], health=row["rating_health"]),
        call=call, concern_ids=list(row["concern_ids"]))


def _seal(cipher: FieldCipher, column: EncryptedColumn, record_id: UUID, value: str | None) -> str | None:
    return None if value is None else cipher.encrypt(value, context=column.context(record_id))


def _open(cipher: FieldCipher, column: EncryptedColumn, record_id: UUID, value: str | None) -> str | None:
    return None if value is None else cipher.decrypt(value, context=column.context(record_id))


def _may_log_for(principal: Principal, caregiver_id: UUID) -> bool:
    """Staff log for anyone in their scope; a caregiver logs only their own contacts."""
    return is_staff(principal) or caregiver_of(principal) == caregiver_id


async def visible_contact(conn: asyncpg.Connection, principal: Principal, row: asyncpg.Record | None,
                           today: date) -> bool:
    if row is None:
        return False
    if is_staff(principal):
        return principal.covers(row["village_code"] or row["township_code"]) and principal.covers_school(row["school_id"])
    me = caregiver_of(principal)
    if me is None:
        return False
    return row["caregiver_id"] == me or await store.paired_on(conn, row["child_id"], me, today)


def _contact_row(body: ContactIn, contact_id: UUID, child: asyncpg.Record, cipher: FieldCipher, *,
                 logged_by: str, now: datetime) -> dict[str, Any]:
    """The contacts row: the child's place copied in, free text and coordinates sealed."""
    ratings = body.ratings or Ratings()
    location = f"{body.location.latitude},{body.location.longitude}" if body.location else None
    follow_ups = json.dumps([f.model_dump(mode="json") for f in body.follow_ups], ensure_ascii=False) \
        if body.follow_ups else None
    return {
        "id": contact_id, "child_id": body.child_id, "caregiver_id": body.caregiver_id,
        "other_caregiver_ids": list(body.other_caregiver_ids), "kind": body.kind,
        "occurred_at": body.occurred_at, "county_code": child["county_code"],
        "township_code": child["township_code"], "village_code": child["village_code"],
        "school_id": child["school_id"], "place": body.place,
        "location_enc": _seal(cipher, CONTACT_LOCATION, contact_id, location),
        "rating_study": ratings.study, "rating_daily_life": ratings.daily_life,
        "rating_emotions": ratings.emotions, "rating_safety": ratings.safety, "rating_health": ratings.health,
        "notes_enc": _seal(cipher, CONTACT_NOTES, contact_id, body.notes),
        "call_initiated_by": body.call.initiated_by if body.call else None,
        "call_minutes": body.call.duration_minutes if body.call else None,
        "follow_ups_enc": _seal(cipher, CONTACT_FOLLOW_UPS, contact_id, follow_ups),
        "concern_count": len(body.concerns), "logged_by": logged_by, "logged_at": now,
    }


@router.post("/contacts", status_code=status.HTTP_201_CREATED, response_model=ContactSummary,
             responses={200: {"model": ContactSummary, "description": "this contact id was logged before; nothing changed"},
                        403: {"description": "not your contact, or not paired with the child"},
                        404: {"description": "no such child (in your jurisdiction)"},
                        409: {"description": "the child's record is closed, or the id is another contact's"}})
async def log_contact(
    body: ContactIn,
    request: Request,
    principal: Caller,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    if not _may_log_for(principal, body.caregiver_id):
        raise Refusal(403, "forbidden", "you may log only your own contacts")
    settings, cipher = request.app.state.settings, request.app.state.cipher
    contact_id = body.id or uuid4()
    concerns = tuple(domain.NewConcern(id=uuid4(), category=c.category, severity=c.severity, detail=c.detail)
                     for c in body.concerns)
    contact = domain.NewContact(
        id=contact_id, child_id=body.child_id, caregiver_id=body.caregiver_id, kind=body.kind,
        occurred_at=body.occurred_at, other_caregiver_ids=tuple(body.other_caregiver_ids), concerns=concerns,
        call_initiated_by=body.call.initiated_by if body.call else None,
        call_minutes=body.call.duration_minutes if body.call else None)
    fingerprint = idempotency.request_fingerprint(body.model_dump(mode="json")) if idempotency_key else ""
    local_day = settings.clock.local_day(body.occurred_at)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        if idempotency_key is not None:
            stored = await idempotency.begin(conn, principal.subject, idempotency_key, fingerprint)
            if stored is not None:
                return JSONResponse(stored[1], status_code=stored[0], headers=_location(stored[1]))
        child = await store.contact_context(conn, child_id=body.child_id, caregiver_id=body.caregiver_id,
                                            day=local_day, contact_id=contact_id)
        if body.id is not None and (child is None or child["earlier_contact_child"] is not None):
            previous = await store.get_contact(conn, body.id)
            if previous is not None:  # an offline client's resend: answer as before, change nothing
                if previous["child_id"] != body.child_id or not await visible_contact(conn, principal, previous,
                                                                                         local_day):
                    raise Refusal(409, "conflict", "this contact id belongs to another contact")
                summary = _summary(previous).model_dump(mode="json")
                return JSONResponse(summary, status_code=status.HTTP_200_OK, headers=_location(summary))
        if child is None or (is_staff(principal) and not (principal.covers(child["village_code"]
                                                                           or child["township_code"])
                                                          and principal.covers_school(child["school_id"]))):
            raise Refusal(404, "not_found", "no such child")
        if not is_staff(principal) and not child["paired"]:
            raise RuleViolation("body.child_id", "you were not paired with this child that day",
                                status.HTTP_403_FORBIDDEN)
        jurisdiction = Jurisdiction(county_code=child["county_code"], township_code=child["township_code"],
                                    village_code=child["village_code"])
        now = settings.clock.now()
        visit = domain.log_contact(contact, child_status=child["status"], jurisdiction=jurisdiction, now=now,
                                   clock_skew=timedelta(minutes=settings.clock_skew_minutes))
        fulfilled = await store.insert_contact(
            conn, _contact_row(body, contact_id, child, cipher, logged_by=principal.subject, now=now),
            fulfils=duty_kinds_met_by(body.kind), day=local_day)
        if fulfilled is None:  # the same id committed by a concurrent resend a moment ago
            raise Refusal(409, "conflict", "this contact id was just logged; send it again")
        for concern in concerns:
            await store_concerns.insert_concern(conn, {
                "id": concern.id, "contact_id": contact_id, "child_id": body.child_id,
                "category": concern.category, "severity": concern.severity,
                "mandatory_report": concern.mandatory_report,
                "detail_enc": _seal(cipher, CONCERN_DETAIL, concern.id, concern.detail), "raised_at": now,
                "county_code": child["county_code"], "township_code": child["township_code"],
                "village_code": child["village_code"]})
        follow_ups = await _follow_up_duties(conn, body, contact_id, child, day=local_day,
                                             today=settings.clock.today())
        for event in [visit, *domain.concerns_raised(contact, jurisdiction=jurisdiction, now=now),
                      *(duty_event(DutyFulfilled, duty, contact_id=duty["fulfilled_by"],
                                   fulfilled_at=duty["fulfilled_at"]) for duty in fulfilled),
                      *(duty_event(DutyScheduled, duty, period_start=duty["period_start"]) for duty in follow_ups)]:
            await outbox.add(conn, event)
        response = ContactSummary(
            id=contact_id, child_id=body.child_id, caregiver_id=body.caregiver_id,
            other_caregiver_ids=body.other_caregiver_ids, kind=body.kind, occurred_at=body.occurred_at,
            logged_at=now, township_code=child["township_code"], place=body.place, ratings=body.ratings or Ratings(),
            call=body.call, concern_ids=sorted(concern.id for concern in concerns)).model_dump(mode="json")
        if idempotency_key is not None:
            await idempotency.remember(conn, principal.subject, idempotency_key, fingerprint,
                                       status.HTTP_201_CREATED, response)
    return JSONResponse(response, status_code=status.HTTP_201_CREATED, headers=_location(response))


async def _follow_up_duties(conn: asyncpg.Connection, body: ContactIn, contact_id: UUID, child: asyncpg.Record, *,
                            day: date, today: date) -> list[asyncpg.Record]:
    """Follow-ups with a due date become the caregiver's follow_up duties, on their pairing
    with the child running today; a contact a clerk logged for a caregiver no longer
    paired with the child keeps its follow-ups as notes only (nobody would be reminded)."""
    due = [(position, follow_up.due_on, uuid4()) for position, follow_up in enumerate(body.follow_ups)
           if follow_up.due_on is not None]
    if not due:
        return []
    pairing_id = await store_plans.active_pairing(conn, body.child_id, body.caregiver_id, today)
    if pairing_id is None:
        return []
    return await store_follow_ups.add_follow_ups(conn, contact_id=contact_id, pairing_id=pairing_id, child=child,
                                                 caregiver_id=body.caregiver_id, owed_from=day, due=due)


def _location(contact: dict[str, Any]) -> dict[str, str]:
    return {"Location": f"{router.prefix}/contacts/{contact['id']}"}


@router.get("/contacts/{contact_id}", response_model=ContactDetail)
async def get_contact(contact_id: UUID, request: Request,
                      principal: Caller,
                      stated: StatedPurposeHeader = None) -> ContactDetail:
    """The sensitive fields (notes, follow-ups, coordinates) only for the caregiver who logged
    the contact and for staff with view_sensitive who state a purpose (`X-Purpose`); each such
    read is recorded in the audit trail with the fields shown and the purpose."""
    cipher = request.app.state.cipher
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await store.get_contact(conn, contact_id)
        if not await visible_contact(conn, principal, row, request.app.state.settings.clock.today()):
            raise Refusal(404, "not_found", "no such contact")
        detail = ContactDetail(**_summary(row).model_dump())
        purpose = clear_purpose(stated, principal)
        if purpose is None and caregiver_of(principal) == row["caregiver_id"]:
            purpose = RELATION_PURPOSES["author"]
        if purpose is not None:
            location = _open(cipher, CONTACT_LOCATION, contact_id, row["location_enc"])
            follow_ups = _open(cipher, CONTACT_FOLLOW_UPS, contact_id, row["follow_ups_enc"])
            detail.notes = _open(cipher, CONTACT_NOTES, contact_id, row["notes_enc"])
            duties = await store_follow_ups.of_contact(conn, contact_id)
            detail.follow_ups = [
                FollowUpOut(**item, duty_id=duties[i]["duty_id"] if i in duties else None,
                            done=i in duties and duties[i]["duty_status"] == "fulfilled")
                for i, item in enumerate(json.loads(follow_ups))] if follow_ups else []
            if location:
                latitude, longitude = (float(part) for part in location.split(","))
                detail.location = Location(latitude=latitude, longitude=longitude)
            detail.sensitive_included = True
            shown = [name for name in ("notes", "location", "follow_ups") if getattr(detail, name)]
            if shown:
                await audit.record_principal_read(conn, principal, action="read", record_kind="contact",
                                                  record_ids=[contact_id], fields=shown, purpose=purpose)
    return detail


async def _list(request: Request, principal: Principal, page: PageRequest, **filters: Any) -> dict[str, Any]:
    me = caregiver_of(principal)
    if not is_staff(principal) and me is None:
        raise Refusal(403, "forbidden", "staff or caregiver roles only")
    async with request.app.state.pool.acquire() as conn:
        rows = await store.list_contacts(
            conn, scope_prefix=principal.scope_prefix if is_staff(principal) else None,
            paired_caregiver=None if is_staff(principal) else me,
            school_id=principal.school_scope if is_staff(principal) else None,
            after=page.after(datetime, UUID), limit=page.fetch, **filters)
    return page.keyset(rows, key=lambda row: (row["occurred_at"], row["id"]), items=[_summary(row) for row in rows])


@router.get("/contacts", response_model=Page[ContactSummary])
async def list_contacts(
    request: Request, principal: Caller,
    page: Paging,
    child_id: UUID | None = None, caregiver_id: UUID | None = None,
    township_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    kind: ContactKind | None = None,
    occurred_from: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    occurred_to: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """Newest first. Staff see their jurisdiction (a school head's token: its school's);
    a caregiver sees the contacts they logged and those of children currently paired with them.
    A township outside the caller's scope is refused (403)."""
    require_division_filter(principal, "township_code", township_code)
    return await _list(request, principal, child_id=child_id, caregiver_id=caregiver_id,
                       township_code=township_code, kind=kind, occurred_from=occurred_from,
                       occurred_to=occurred_to, page=page)


@router.get("/children/{child_id}/contacts", response_model=Page[ContactSummary])
async def list_child_contacts(child_id: UUID, request: Request,
                              principal: Caller,
                              page: Paging) -> dict[str, Any]:
    """404 until visits knows the child (its projection is built from the registry's events)."""
    async with request.app.state.pool.acquire() as conn:
        if is_staff(principal):
            known = await store.get_child_in_scope(conn, child_id, principal.scope_prefix,
                                                   school_id=principal.school_scope)
        else:
            me = caregiver_of(principal)
            known = me is not None and await store.paired_on(conn, child_id, me,
                                                              request.app.state.settings.clock.today())
        if not known:
            raise Refusal(404, "not_found", "no such child")
    return await _list(request, principal, child_id=child_id, caregiver_id=None, township_code=None, kind=None,
                       occurred_from=None, occurred_to=None, page=page)


"""Caregiver routes: enrol, read, change, contact points (for notify)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import phonenumbers
from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, field_validator

from services.pairing import commands, domain, store, store_pairings
from services.pairing.encrypted_columns import CAREGIVER_CONTEXT
from services.pairing.api_models import CaregiverOut
from shared import audit
from shared.auth import Principal
from shared.pagination import Page, PageRequest, paged
from shared.clean_text import CleanInput
from shared.contracts.events import CaregiverKind
from shared.crypto import FieldCipher
from shared.conditional import IfMatch, etag_headers, expected_version, stale
from shared.purpose import StatedPurposeHeader, clear_purpose
from shared.rules import Refusal, RuleViolation
from shared.routes import Caller, Idempotent, STAFF_ROLES, cipher_of, require_staff, today, transaction
from shared.scope import narrowed_prefix, require_place_field

router = APIRouter(prefix="/v1", tags=["caregivers"])

_CODE12 = r"^\d{12}$"
_ACCOUNT_ID = r"^[A-Za-z0-9_.@-]{1,64}$"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# Contact point field → (encrypted column, the channel it opens).
CONTACT_FIELDS = {"phone": ("phone_enc", "sms"), "email": ("email_enc", "email"),
                  "wecom_id": ("wecom_enc", "wecom"), "dingtalk_id": ("dingtalk_enc", "dingtalk")}


class JurisdictionIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    county_code: str = Field(pattern=_CODE12)
    township_code: str = Field(pattern=_CODE12)
    village_code: str | None = Field(default=None, pattern=_CODE12)


class ContactPointsIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    wecom_id: str | None = Field(default=None, pattern=_ACCOUNT_ID)
    dingtalk_id: str | None = Field(default=None, pattern=_ACCOUNT_ID)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            number = phonenumbers.parse(value, "CN")
        except phonenumbers.NumberParseException:
            raise ValueError("not a phone number") from None
        if not phonenumbers.is_valid_number(number):
            raise ValueError("not a valid phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("not an email address")
        return value


class CaregiverIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    kind: CaregiverKind
    jurisdiction: JurisdictionIn
    school_id: str | None = Field(default=None, min_length=1, max_length=64)
    capacity: int | None = Field(default=None, ge=0, le=50, description="omit: the county's default for the kind")
    name: str | None = Field(default=None, min_length=1, max_length=64)
    contact: ContactPointsIn = Field(default_factory=ContactPointsIn)
    active: bool = True


class CaregiverPatch(CleanInput):
    model_config = ConfigDict(extra="forbid")

    kind: CaregiverKind | None = None
    jurisdiction: JurisdictionIn | None = None
    school_id: str | None = Field(default=None, min_length=1, max_length=64)
    capacity: int | None = Field(default=None, ge=0, le=50)
    use_default_capacity: bool = False
    name: str | None = Field(default=None, min_length=1, max_length=64)
    contact: ContactPointsIn | None = Field(default=None, description="replaces every contact point")
    active: bool | None = None
    version: int | None = Field(default=None, ge=1, description="or send If-Match")


def _encrypt(cipher_: FieldCipher, caregiver_id: UUID, column: str, value: str | None) -> str | None:
    return None if value is None else cipher_.encrypt(value, context=f"{CAREGIVER_CONTEXT}.{column}:{caregiver_id}")


def _decrypt(cipher_: FieldCipher, caregiver_id: UUID, column: str, value: str | None) -> str | None:
    return None if value is None else cipher_.decrypt(value, context=f"{CAREGIVER_CONTEXT}.{column}:{caregiver_id}")


def _contact_columns(cipher_: FieldCipher, caregiver_id: UUID, contact: ContactPointsIn) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    channels = []
    for field, (column, channel) in CONTACT_FIELDS.items():
        value = getattr(contact, field)
        columns[column] = _encrypt(cipher_, caregiver_id, column, value)
        if value is not None:
            channels.append(channel)
    # Every caregiver has an account, so the in-app inbox is always a channel.
    columns["channels"] = [*channels, "in_app"]
    return columns


async def caregiver_out(conn: Any, row: Any, cipher_: FieldCipher, *, load: int | None = None) -> dict[str, Any]:
    defaults = await store.county_capacity_defaults(conn, row["county_code"])
    if load is None:
        load = await store.caregiver_load(conn, row["id"])
    return _shape(row, cipher_, defaults.get(row["kind"]), load)


def _shape(row: Any, cipher_: FieldCipher, county_capacity: int | None, load: int) -> dict[str, Any]:
    if row["capacity_override"] is not None:
        capacity, source = row["capacity_override"], "caregiver"
    elif county_capacity is not None:
        capacity, source = county_capacity, "county"
    else:
        capacity, source = domain.DEFAULT_CAPACITY[row["kind"]], "default"
    return {
        "id": row["id"], "kind": row["kind"],
        "jurisdiction": {"county_code": row["county_code"], "township_code": row["township_code"],
                         "village_code": row["village_code"]},
        "school_id": row["school_id"], "name": _decrypt(cipher_, row["id"], "name_enc", row["name_enc"]),
        "capacity": capacity, "capacity_source": source, "load": load, "free": max(0, capacity - load),
        "channels": list(row["channels"]), "active": row["active"], "version": row["version"],
    }


async def _visible_caregiver(conn: Any, principal: Principal, caregiver_id: UUID) -> Any:
    """The caregiver if the caller may see it (staff in scope, or the caregiver itself); else 404."""
    row = await store.get_caregiver(conn, caregiver_id)
    own = principal.has_role("caregiver") and principal.caregiver_id == str(caregiver_id)
    if row is None or not (own or (principal.has_role(*STAFF_ROLES) and principal.covers(commands.deepest_code(row)))):
        raise Refusal(404, "not_found", "no such caregiver")
    return row


@router.post("/caregivers", status_code=201, response_model=CaregiverOut)
async def enrol_caregiver(body: CaregiverIn, request: Request,
                          principal: Caller,
                          once: Idempotent) -> JSONResponse:
    """Enrols a caregiver (emits CaregiverEnrolled, which names the channels, not the addresses)."""
    require_staff(principal)
    require_place_field(principal, body.jurisdiction.village_code or body.jurisdiction.township_code)
    _check_codes(body.jurisdiction)

    async def create(conn: Any) -> tuple[int, Any]:
        caregiver_id = uuid.uuid4()
        values = {"id": caregiver_id, "kind": body.kind, **body.jurisdiction.model_dump(),
                  "school_id": body.school_id, "capacity_override": body.capacity,
                  "name_enc": _encrypt(cipher_of(request), caregiver_id, "name_enc", body.name),
                  **_contact_columns(cipher_of(request), caregiver_id, body.contact),
                  "active": body.active, "created_by": principal.subject}
        row = await store.insert_caregiver(conn, values)
        await commands.caregiver_event(conn, row, enrolled=True)
        return 201, await caregiver_out(conn, row, cipher_of(request), load=0)

    return await once.answer(body.model_dump(), create,
                                   location=f"{router.prefix}/caregivers/{{id}}")


def _check_codes(jurisdiction: JurisdictionIn) -> None:
    """The township lies in the county, the village in the township."""
    if not jurisdiction.township_code.startswith(jurisdiction.county_code[:6]):
        raise RuleViolation("body.jurisdiction.township_code", "not in the county")
    if jurisdiction.village_code and not jurisdiction.village_code.startswith(jurisdiction.township_code[:9]):
        raise RuleViolation("body.jurisdiction.village_code", "not in the township")


@router.get("/caregivers", response_model=Page[CaregiverOut])
async def list_caregivers(request: Request, principal: Caller,
                          page: Annotated[PageRequest, Depends(paged(default=100, maximum=1000))],
                          jurisdiction: Annotated[str | None, Query(pattern=_CODE12)] = None,
                          kind: CaregiverKind | None = None, active: bool | None = None,
                          school_id: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    """Caregivers in scope with their load and free places, by township then enrolment."""
    require_staff(principal)
    prefix = narrowed_prefix(principal, jurisdiction)
    async with request.app.state.pool.acquire() as conn:
        rows = await store.list_caregivers(conn, prefix, kind=kind, active=active, school_id=school_id,
                                           limit=page.fetch, after=page.after(str, datetime, UUID))
    return page.keyset(rows, key=lambda row: (row["place"], row["created_at"], row["id"]),
                       items=[_shape(row, cipher_of(request), row["county_capacity"], row["load"])
                              for row in rows[: page.limit]])


@router.get("/caregivers/{caregiver_id}", response_model=CaregiverOut)
async def read_caregiver(caregiver_id: UUID, request: Request,
                         principal: Caller) -> Any:
    async with request.app.state.pool.acquire() as conn:
        row = await _visible_caregiver(conn, principal, caregiver_id)
        return _with_etag(await caregiver_out(conn, row, cipher_of(request)))


@router.patch("/caregivers/{caregiver_id}", response_model=CaregiverOut)
async def change_caregiver(caregiver_id: UUID, body: CaregiverPatch, request: Request,
                           principal: Caller,
                           if_match: IfMatch = None) -> Any:
    """Changes a caregiver (If-Match: its ETag; 412 when stale). Deactivating ends their pairings
    (caregiver_inactive); moving them ends the pairings they no longer cover (reassigned);
    a capacity below the current load is refused with 409 and the load."""
    require_staff(principal)
    expected = expected_version(if_match, body.version)
    if body.jurisdiction is not None:
        require_place_field(principal, body.jurisdiction.village_code or body.jurisdiction.township_code)
        _check_codes(body.jurisdiction)
    on = today(request)
    async with transaction(request) as conn:
        current = await store.get_caregiver(conn, caregiver_id, lock=True)
        if current is None or not principal.covers(commands.deepest_code(current)):
            raise Refusal(404, "not_found", "no such caregiver")
        if current["version"] != expected:
            raise stale(current["version"])
        changes = _changes(body, caregiver_id, cipher_of(request))
        row = await store.update_caregiver(conn, caregiver_id, expected, changes)
        if not row["active"] and current["active"]:
            await commands.end_caregiver_pairings(conn, caregiver_id, reason="caregiver_inactive", on=on,
                                                  by=principal.subject)
        elif body.jurisdiction is not None or "school_id" in body.model_fields_set:
            await _end_uncovered(conn, row, on, principal.subject)
        load = await store.caregiver_load(conn, caregiver_id)
        capacity = await commands.capacity_of(conn, row)
        if row["active"] and load > capacity:
            raise domain.Refusal(409, "capacity_below_load",
                                 "end some pairings before lowering the capacity", load=load, capacity=capacity)
        await commands.caregiver_event(conn, row, enrolled=False)
        return _with_etag(await caregiver_out(conn, row, cipher_of(request), load=load))


def _with_etag(out: dict[str, Any]) -> JSONResponse:
    return JSONResponse(jsonable_encoder(out), headers=etag_headers(out))


def _changes(body: CaregiverPatch, caregiver_id: UUID, cipher_: FieldCipher) -> dict[str, Any]:
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    for field in ("kind", "active"):
        if field in given and getattr(body, field) is not None:
            changes[field] = getattr(body, field)
    if "school_id" in given:
        changes["school_id"] = body.school_id
    if body.jurisdiction is not None:
        changes.update(body.jurisdiction.model_dump())
    if body.use_default_capacity:
        changes["capacity_override"] = None
    elif "capacity" in given:
        changes["capacity_override"] = body.capacity
    if "name" in given:
        changes["name_enc"] = _encrypt(cipher_, caregiver_id, "name_enc", body.name)
    if body.contact is not None:
        changes.update(_contact_columns(cipher_, caregiver_id, body.contact))
    return changes


async def _end_uncovered(conn: Any, caregiver: Any, on: date, by: str) -> None:
    place = commands.caregiver_place(caregiver)
    for pairing in await store_pairings.active_pairings_of_caregiver(conn, caregiver["id"]):
        child = await store.get_child(conn, pairing["child_id"])
        if not domain.still_covers(commands.child_place(child), place):
            await commands.end_pairing(conn, pairing, child, reason="reassigned", ended_on=on, ended_by=by)


def _masked(field: str, value: str | None) -> str | None:
    """A phone as counties print it (first three, last four); other addresses not at all."""
    if value is None or field != "phone":
        return None
    digits = value.removeprefix("+86")
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


@router.get("/caregivers/{caregiver_id}/contact-points")
async def read_contact_points(caregiver_id: UUID, request: Request,
                              principal: Caller,
                              stated: StatedPurposeHeader = None) -> dict[str, Any]:
    """The caregiver's addresses, for the one sending a message now (notify, role `service`), an
    admin or staff. In clear only with `view_sensitive` and a stated purpose (`X-Purpose`; the
    read is audited with the caller and the purpose); otherwise the phone is masked and the
    other addresses left out (`masked`: true)."""
    if not principal.has_role("service", *STAFF_ROLES):
        raise Refusal(403, "forbidden", "role service or a staff role")
    purpose = clear_purpose(stated, principal)
    async with transaction(request) as conn:
        row = await store.get_caregiver(conn, caregiver_id)
        # A school head's token reaches its own school's caregivers' addresses only.
        if row is None or not principal.covers(commands.deepest_code(row)) or not principal.covers_school(row["school_id"]):
            raise Refusal(404, "not_found", "no such caregiver")
        decrypted = {field: _decrypt(cipher_of(request), caregiver_id, column, row[column])
                     for field, (column, _) in CONTACT_FIELDS.items()}
        shown = [field for field, value in decrypted.items() if value is not None]
        if purpose and shown:
            await audit.record_principal_read(conn, principal, action="contact_points", record_kind="caregiver",
                                              record_ids=[caregiver_id], fields=shown, purpose=purpose)
    if purpose is None:
        decrypted = {field: _masked(field, value) for field, value in decrypted.items()}
    return {"caregiver_id": caregiver_id, "active": row["active"], "channels": list(row["channels"]), **decrypted,
            "masked": purpose is None}

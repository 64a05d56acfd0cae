"""Administration routes: routing rules per county and staff recipients. Staff contact
addresses are encrypted at rest. The duty roster is in api_roster.py, webhook subscriptions
in api_webhooks.py."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, model_validator

from services.notify import commands, store_admin
from shared.routes import ADMIN_ROLES, Caller, Cipher, Idempotent, require_roles
from shared.scope import not_found, require_in_scope
from services.notify.domain import ACTIONABLE_AUDIENCES, AUDIENCES, ROUTED_EVENTS
from services.notify.domain_delivery import AddressError, check_email, check_webhook_url, normalise_mobile
from services.notify.domain_templates import TEMPLATE_VARIABLES
from services.notify.api_models import RoutingRuleOut, StaffRecipientOut
from shared import audit
from shared.contracts.events import ContactChannel
from shared.pagination import Page, PageRequest, Paging, paged
from shared.purpose import StatedPurposeHeader, clear_purpose
from shared.rules import RuleViolation
from shared.conditional import (
    IfMatch, etag, expected_version, put_precondition, stale,
)
from shared.clean_text import CleanInput

router = APIRouter(prefix="/v1", tags=["administration"])
AdminPaging = Annotated[PageRequest, Depends(paged(default=200, maximum=1000))]

Code12 = Annotated[str, Field(pattern=r"^\d{12}$")]
RuleChannel = ContactChannel
EventName = Literal[tuple(ROUTED_EVENTS)]  # type: ignore[valid-type]
AudienceName = Literal[tuple(AUDIENCES)]  # type: ignore[valid-type]
ALERT_EVENTS = ("ConcernRaised", "ConcernEscalated", "ConcernDeadlineMissed")


# -- routing rules ------------------------------------------------------------------------

class RuleIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(min_length=1, max_length=64)
    channels: list[RuleChannel] = Field(min_length=1)
    enabled: bool = True


@router.get("/routing-rules", response_model=Page[RoutingRuleOut])
async def list_rules(request: Request, principal: Caller,
                     page: Paging, county_code: Annotated[str, Query(pattern=r"^\d{12}$")]) -> dict[str, Any]:
    """The rules in force for a county (its own overrides, else the defaults: county_code '')."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    require_in_scope(principal, county_code)
    async with request.app.state.pool.acquire() as conn:
        return page.of_sequence([dict(row) for row in await store_admin.list_rules(conn, county_code)])


@router.put("/routing-rules/{county_code}/{event_type}/{audience}", response_model=RoutingRuleOut)
async def put_rule(request: Request, response: Response, county_code: Code12, event_type: EventName,
                   audience: AudienceName, body: RuleIn, principal: Caller,
                   if_match: IfMatch = None) -> dict[str, Any]:
    """Sets the county's own rule for one (event, audience). Concern alerts cannot be switched off."""
    require_roles(principal, *ADMIN_ROLES)
    require_in_scope(principal, county_code)
    if audience not in ACTIONABLE_AUDIENCES.get(event_type, ()):
        raise RuleViolation("path.audience", f"{event_type} 无法通知该对象 / no handler can act on {event_type} for "
                                             f"{audience} (possible: {', '.join(ACTIONABLE_AUDIENCES.get(event_type, ()))})")
    if body.template not in TEMPLATE_VARIABLES:
        raise RuleViolation("body.template", "unknown template")
    if event_type in ALERT_EVENTS and audience == "on_duty" and (not body.enabled or "in_app" not in body.channels):
        raise RuleViolation("body.enabled", "关注事项的提醒不能关闭，且总会发到应用内消息 / alerts for concerns "
                                            "cannot be switched off (and always reach the inbox)")
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row = await store_admin.put_rule(conn, county_code, event_type, audience, body.template, body.channels,
                                             body.enabled, put_precondition(if_match), principal.subject)
    response.headers["ETag"] = etag(row["version"])
    return dict(row)


@router.delete("/routing-rules/{county_code}/{event_type}/{audience}", status_code=204)
async def delete_rule(request: Request, county_code: Code12, event_type: EventName, audience: AudienceName,
                      principal: Caller, if_match: IfMatch = None) -> Response:
    """Removes the county's own rule for one (event, audience): the default applies again.
    If-Match with the version read is required (428 without, 412 when stale); 404 when the
    county has no rule of its own there."""
    require_roles(principal, *ADMIN_ROLES)
    require_in_scope(principal, county_code)
    version = expected_version(if_match)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            current = await store_admin.delete_rule(conn, county_code, event_type, audience, version)
    if current is None:
        raise not_found("county rule")
    if current != version:
        raise stale(current)
    return Response(status_code=204)


# -- staff recipients ---------------------------------------------------------------------

class RobotIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    secret: str | None = Field(default=None, max_length=200)


class StaffContactsIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    sms: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    wecom: RobotIn | None = None
    dingtalk: RobotIn | None = None


class StaffRecipientIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    staff_id: str = Field(min_length=1, max_length=100, description="the staff member's account subject")
    jurisdiction: Code12
    level: Literal["school", "township", "county"]
    school_id: str | None = Field(default=None, max_length=100)
    contacts: StaffContactsIn = Field(default_factory=StaffContactsIn)

    @model_validator(mode="after")
    def _school_needs_id(self) -> "StaffRecipientIn":
        if self.level == "school" and not self.school_id:
            raise ValueError("school staff need a school_id")
        return self


class StaffRecipientPatch(CleanInput):
    model_config = ConfigDict(extra="forbid")

    jurisdiction: Code12 | None = None
    level: Literal["school", "township", "county"] | None = None
    school_id: str | None = Field(default=None, max_length=100)
    contacts: StaffContactsIn | None = None
    active: bool | None = None


def _validated_contacts(contacts: StaffContactsIn, allow_loopback: bool) -> dict[str, Any]:
    """Normalised addresses, or 422 naming the field and why (never echoing the value)."""
    clean: dict[str, Any] = {}
    checks = {"sms": lambda v: normalise_mobile(v), "email": lambda v: check_email(v)}
    for channel in ("sms", "email"):
        value = getattr(contacts, channel)
        if value is not None:
            try:
                clean[channel] = checks[channel](value)
            except AddressError as exc:
                raise RuleViolation(f"body.contacts.{channel}", str(exc)) from exc
    for channel in ("wecom", "dingtalk"):
        robot = getattr(contacts, channel)
        if robot is not None:
            try:
                check_webhook_url(robot.url, allow_loopback_http=allow_loopback)
            except AddressError as exc:
                raise RuleViolation(f"body.contacts.{channel}.url", str(exc)) from exc
            clean[channel] = {"url": robot.url, "secret": robot.secret}
    return clean


def _staff_out(row: Any, contacts: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {key: row[key] for key in ("id", "staff_id", "jurisdiction", "level", "school_id", "channels", "active",
                                     "version", "created_at", "updated_at", "updated_by")}
    if contacts is not None:
        out["contacts"] = contacts
    return out


@router.post("/staff-recipients", status_code=201, response_model=StaffRecipientOut)
async def create_staff(request: Request, body: StaffRecipientIn, principal: Caller, once: Idempotent,
                       cipher: Cipher) -> JSONResponse:
    """Registers a staff member to receive escalations and alerts. Addresses are encrypted."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    require_in_scope(principal, body.jurisdiction)
    contacts = _validated_contacts(body.contacts, request.app.state.settings.allow_loopback_http)

    async def create(conn: Any) -> tuple[int, dict[str, Any]]:
        return 201, _staff_out(await commands.add_staff_recipient(
            conn, cipher, staff_id=body.staff_id, jurisdiction=body.jurisdiction, level=body.level,
            school_id=body.school_id, contacts=contacts, updated_by=principal.subject))

    return await once.answer(body, create, location=f"{router.prefix}/staff-recipients/{{id}}")


@router.get("/staff-recipients", response_model=Page[StaffRecipientOut], response_model_exclude_unset=True)
async def list_staff(request: Request, principal: Caller,
                     page: AdminPaging) -> dict[str, Any]:
    """By place, then staff id."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    async with request.app.state.pool.acquire() as conn:
        rows = await store_admin.list_staff(conn, principal.scope_prefix, page.fetch, page.after(str, str))
    return page.keyset(rows, key=lambda row: (row["jurisdiction"], row["staff_id"]),
                       items=[_staff_out(row) for row in rows])


@router.get("/staff-recipients/{recipient_id}", response_model=StaffRecipientOut, response_model_exclude_unset=True)
async def get_staff(request: Request, response: Response, recipient_id: UUID,
                    principal: Caller,
                    stated: StatedPurposeHeader = None) -> dict[str, Any]:
    """Addresses are shown only with view_sensitive and a stated purpose (`X-Purpose`), and
    such a read is audited."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    purpose = clear_purpose(stated, principal)
    contacts = None
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await store_admin.get_staff(conn, recipient_id)
        if row is None:
            raise not_found()
        require_in_scope(principal, row["jurisdiction"])
        if purpose is not None:
            contacts = json.loads(request.app.state.cipher.decrypt(row["contacts_enc"],
                                                                   context=commands.contacts_context(recipient_id)))
            await audit.record_principal_read(conn, principal, action="read", record_kind="staff_recipient",
                                              record_ids=[recipient_id], fields=["contacts"], purpose=purpose)
    response.headers["ETag"] = etag(row["version"])
    return _staff_out(row, contacts)


@router.patch("/staff-recipients/{recipient_id}", response_model=StaffRecipientOut, response_model_exclude_unset=True)
async def patch_staff(request: Request, response: Response, recipient_id: UUID, body: StaffRecipientPatch,
                      principal: Caller,
                      if_match: IfMatch = None) -> dict[str, Any]:
    """Changes a recipient; If-Match with the version read is required (412 when stale)."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    version = expected_version(if_match)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"contacts"})
    changes["updated_by"] = principal.subject
    if body.jurisdiction is not None:
        require_in_scope(principal, body.jurisdiction)
    if body.contacts is not None:
        contacts = _validated_contacts(body.contacts, request.app.state.settings.allow_loopback_http)
        changes["channels"] = sorted(contacts)
        changes["contacts_enc"] = request.app.state.cipher.encrypt(json.dumps(contacts),
                                                                   context=commands.contacts_context(recipient_id))
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            existing = await store_admin.get_staff(conn, recipient_id)
            if existing is None or not principal.covers(existing["jurisdiction"]):
                raise not_found()
            row = await store_admin.update_staff(conn, recipient_id, version, changes)
    if row is None:
        raise stale()
    response.headers["ETag"] = etag(row["version"])
    return _staff_out(row)


@router.delete("/staff-recipients/{recipient_id}", status_code=204)
async def delete_staff(request: Request, recipient_id: UUID, principal: Caller,
                       if_match: IfMatch = None) -> Response:
    """Removes a recipient with the shifts they served; 409 while they have a current or future
    shift (remove or reassign it first). If-Match with the version read is required."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    version = expected_version(if_match)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            await commands.remove_staff_recipient(conn, principal, recipient_id, version,
                                                  request.app.state.settings.clock.now())
    return Response(status_code=204)

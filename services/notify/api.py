"""Notify routes for recipients: the in-app inbox and their own preferences."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from services.notify import store, store_admin
from shared.scope import not_found
from shared.routes import Caller, STAFF_ROLES, require_roles
from services.notify.contacts import ChildDetails, ContactLookupFailed
from services.notify.domain_templates import (
    CAREGIVER_NAME, CHILD_NAME, LOCALES, UNNAMED_CAREGIVER, pick_template, place_variables, render,
    uses_child_details, uses_variable,
)
from shared.auth import Principal
from shared.contracts.events import ContactChannel
from shared.pagination import Page, Paging
from shared.rules import Refusal, RuleViolation
from shared.conditional import IfMatch, etag, put_precondition
from shared.clean_text import CleanInput

router = APIRouter(prefix="/v1", tags=["inbox and preferences"])

PreferenceChannel = ContactChannel


class NotificationOut(BaseModel):
    id: UUID
    source_event_id: UUID
    event_type: str
    recipient_kind: str
    recipient_id: str
    channel: str
    template: str
    child_id: UUID | None
    status: str
    title: str
    text: str
    created_at: datetime
    read_at: datetime | None
    # False when the text should name the child and the registry could not say the name
    # now: the text then says "the paired child" instead; reading again later names them.
    named: bool = True


def _inbox_owner(principal: Principal, caregiver_id: UUID | None) -> tuple[str, str]:
    """A caregiver reads their own inbox; staff read their own, or a caregiver's in their scope."""
    if principal.has_role(*STAFF_ROLES):
        if caregiver_id is not None:
            return "caregiver", str(caregiver_id)
        return "staff", principal.subject
    if principal.has_role("caregiver") and principal.caregiver_id:
        if caregiver_id is not None and str(caregiver_id) != principal.caregiver_id:
            raise Refusal(404, "not_found", "no such inbox")
        return "caregiver", principal.caregiver_id
    raise Refusal(403, "forbidden", "no inbox for this role")


@router.get("/notifications", response_model=Page[NotificationOut])
async def list_notifications(
    request: Request,
    principal: Caller,
    page: Paging,
    caregiver_id: Annotated[UUID | None, Query()] = None,
    unread: Annotated[bool, Query()] = False,
    locale: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN",
) -> dict[str, Any]:
    """The in-app inbox, newest first, rendered in the asked locale (zh-CN by default)."""
    kind, recipient = _inbox_owner(principal, caregiver_id)
    # Staff's own inbox is theirs; a caregiver's inbox shows what lies in the reader's scope.
    # A school's staff see a caregiver's messages about their school's children only.
    scope = "" if kind == "staff" else principal.scope_prefix
    school = None if kind == "staff" else principal.school_scope
    async with request.app.state.pool.acquire() as conn:
        rows = await store.list_inbox(conn, recipient_kind=kind, recipient_id=recipient, scope_prefix=scope,
                                      limit=page.fetch, unread_only=unread, after=page.after(datetime, UUID),
                                      school_id=school)
        fetched, rows = rows, rows[: page.limit]
        templates = await store.templates_for(conn, sorted({row["template"] for row in rows}))
    chosen = {row["id"]: pick_template(templates.get(row["template"], {}), locale, "in_app") for row in rows}
    naming = [row for row in rows if row["child_id"] and chosen[row["id"]] and uses_child_details(chosen[row["id"]])]
    naming_ids = {row["id"] for row in naming}
    names = await _child_details(request, sorted({str(row["child_id"]) for row in naming}))
    caregivers = await _caregiver_names(request, sorted({
        str(row["variables"]["caregiver_id"]) for row in rows if chosen[row["id"]] and (row["variables"] or {}).get(
            "caregiver_id") and uses_variable(chosen[row["id"]], CAREGIVER_NAME)}))
    result = []
    for row in rows:
        template = chosen[row["id"]]
        variables = dict(row["variables"] or {})
        child = names.get(str(row["child_id"])) if row["child_id"] else None
        variables[CHILD_NAME] = child.name if child else _UNNAMED.get(locale, _UNNAMED["en"])
        variables.update(place_variables(child.township if child else None, child.village if child else None,
                                         child.school if child else None, township_code=row["township_code"],
                                         locale=template.locale if template else locale))
        variables[CAREGIVER_NAME] = caregivers.get(str(variables.get("caregiver_id")),
                                                   UNNAMED_CAREGIVER.get(locale, UNNAMED_CAREGIVER["en"]))
        result.append(NotificationOut(
            **{k: row[k] for k in ("id", "source_event_id", "event_type", "recipient_kind", "recipient_id", "channel",
                                   "template", "child_id", "status", "created_at", "read_at")},
            title=render(template.subject or "", variables, template.locale) if template else "",
            text=render(template.body, variables, template.locale) if template else "",
            named=child is not None or row["id"] not in naming_ids))
    return page.keyset(fetched, key=lambda row: (row["created_at"], row["id"]), items=result)


_UNNAMED = {"zh-CN": "结对儿童", "en": "the paired child"}


async def _caregiver_names(request: Request, caregiver_ids: list[str]) -> dict[str, str]:
    """Caregivers' names from pairing, like the children's (none when it cannot answer)."""
    source = request.app.state.contacts
    if not caregiver_ids or source is None:
        return {}
    try:
        return await source.caregiver_names(caregiver_ids)
    except ContactLookupFailed:
        return {}


async def _child_details(request: Request, child_ids: list[str]) -> dict[str, ChildDetails]:
    """Names (the child's, and its township's, village's and school's) from the registry,
    asked now with notify's own token and never stored; none when it cannot answer (the
    inbox still opens, each such item saying so)."""
    source = request.app.state.contacts
    if not child_ids or source is None:
        return {}
    try:
        return await source.child_details(child_ids)
    except ContactLookupFailed:
        return {}


@router.post("/notifications/{notification_id}/read", status_code=204)
async def mark_read(request: Request, notification_id: UUID,
                    principal: Caller) -> Response:
    """Marks one of your own in-app notifications read."""
    kind = "staff" if principal.has_role(*STAFF_ROLES) else "caregiver"
    recipient = principal.subject if kind == "staff" else principal.caregiver_id
    if recipient is None:
        raise Refusal(403, "forbidden", "no inbox for this role")
    async with request.app.state.pool.acquire() as conn:
        if not await store.mark_read(conn, notification_id, kind, recipient):
            raise Refusal(404, "not_found", "no such notification")
    return Response(status_code=204)


# -- preferences --------------------------------------------------------------------------

# A time of day on the recipient's clock (in `timezone`): no UTC offset, so not the
# RFC 3339 "time" format that JSON Schema's `format: time` means.
WallClock = Annotated[time, WithJsonSchema({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
                                            "description": "HH:MM[:SS], on the recipient's clock"})]


class PreferencesIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    channels: list[PreferenceChannel] | None = Field(default=None, description="push channels in order of preference")
    opt_out_non_urgent: bool = False
    quiet_start: WallClock | None = None
    quiet_end: WallClock | None = None
    timezone: str | None = Field(default=None, description="IANA zone of the quiet hours; default: the county's")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value


class PreferencesOut(PreferencesIn):
    model_config = ConfigDict(extra="ignore")

    recipient_kind: str
    recipient_id: str
    version: int
    mandatory_alerts_note: str = "alerts under the mandatory-report procedure are always delivered"


def _check_quiet(body: PreferencesIn) -> None:
    if (body.quiet_start is None) != (body.quiet_end is None):
        raise RuleViolation("body.quiet_end", "quiet hours need both a start and an end")


def _preferences_out(row: Any) -> PreferencesOut:
    return PreferencesOut(recipient_kind=row["recipient_kind"], recipient_id=row["recipient_id"],
                          channels=row["channels"], opt_out_non_urgent=row["opt_out_non_urgent"],
                          quiet_start=row["quiet_start"], quiet_end=row["quiet_end"], timezone=row["timezone"],
                          version=row["version"])


def _own_identity(principal: Principal) -> tuple[str, str]:
    if principal.has_role("caregiver") and principal.caregiver_id:
        return "caregiver", principal.caregiver_id
    if principal.has_role(*STAFF_ROLES):
        return "staff", principal.subject
    raise Refusal(403, "forbidden", "no preferences for this role")


@router.get("/preferences/me", response_model=PreferencesOut)
async def my_preferences(request: Request, response: Response,
                         principal: Caller) -> PreferencesOut:
    kind, recipient = _own_identity(principal)
    async with request.app.state.pool.acquire() as conn:
        row = await store_admin.get_preferences(conn, kind, recipient)
    if row is None:
        return PreferencesOut(recipient_kind=kind, recipient_id=recipient, version=0)
    response.headers["ETag"] = etag(row["version"])
    return _preferences_out(row)


@router.put("/preferences/me", response_model=PreferencesOut)
async def put_my_preferences(request: Request, response: Response, body: PreferencesIn,
                             principal: Caller,
                             if_match: IfMatch = None) -> PreferencesOut:
    """Choose channels, opt out of non-urgent messages, set quiet hours (If-Match for updates)."""
    kind, recipient = _own_identity(principal)
    return await _put_preferences(request, response, kind, recipient, body, if_match)


@router.put("/preferences/guardians/{child_id}", response_model=PreferencesOut)
async def put_guardian_preferences(request: Request, response: Response, child_id: UUID, body: PreferencesIn,
                                   principal: Caller,
                                   if_match: IfMatch = None) -> PreferencesOut:
    """Staff record what a child's guardian asked for (guardians have no account)."""
    require_roles(principal, *STAFF_ROLES)
    async with request.app.state.pool.acquire() as conn:
        child = await store.get_child(conn, child_id)
    if child is None or not principal.covers(child["village_code"] or child["township_code"]) \
            or not principal.covers_school(child["school_id"]):
        raise not_found()
    return await _put_preferences(request, response, "guardian", str(child_id), body, if_match)


async def _put_preferences(request: Request, response: Response, kind: str, recipient: str, body: PreferencesIn,
                           if_match: str | None) -> PreferencesOut:
    _check_quiet(body)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row = await store_admin.put_preferences(
                conn, kind, recipient, channels=body.channels, opt_out_non_urgent=body.opt_out_non_urgent,
                quiet_start=body.quiet_start, quiet_end=body.quiet_end,
                timezone=body.timezone or request.app.state.settings.county_timezone,
                precondition=put_precondition(if_match))
    response.headers["ETag"] = etag(row["version"])
    return _preferences_out(row)


__all__ = ["router", "LOCALES"]

"""Nothing vanishes silently: the county setup check (what is missing, per jurisdiction, for
every escalation and message to reach someone) and the list of what is waiting because of it."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from services.notify import store_admin, store_held, store_setup
from shared.routes import Caller, ADMIN_ROLES, require_roles
from shared.scope import require_in_scope
from services.notify.channels.factory import SELF_PROVIDED, configured_channels
from shared.auth import scope_prefix
from shared.rules import RuleViolation

router = APIRouter(prefix="/v1", tags=["setup"])


class Missing(BaseModel):
    what: str = Field(description="recipients | duty_roster | provider | expected_counts")
    jurisdiction: str = Field(description="the county or township code it is missing for")
    rung: str | None = Field(None, description="for recipients: school, township or county")
    school_id: str | None = None
    channel: str | None = None
    reason: str


class Setup(BaseModel):
    jurisdiction: str
    complete: bool = Field(description="nothing notify can check is missing")
    missing: list[Missing]
    channels_configured: list[str]
    channels_in_use: list[str]
    undeliverable: dict[str, int] = Field(description="messages waiting, by reason (no_recipient, no_provider)")
    not_checked_here: list[str] = Field(description="what other services keep and `shouhu setup-check` asks them")


@router.get("/setup", response_model=Setup)
async def setup_check(request: Request, principal: Caller,
                      jurisdiction: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None) -> dict[str, Any]:
    """What is missing in the caller's jurisdiction (or a part of it) for escalations and
    messages to reach someone: recipients for each rung of the overdue ladder where children
    are, a duty roster per township (else the county's), a provider for each channel the
    county's rules use. Expected counts for 建档率 live in the registry: `shouhu setup-check`
    asks it beside this."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    code = jurisdiction or principal.jurisdiction
    require_in_scope(principal, code)
    prefix = scope_prefix(code)
    settings = request.app.state.settings
    configured = configured_channels(settings)
    missing: list[dict[str, Any]] = []
    async with request.app.state.pool.acquire() as conn:
        places = await store_setup.places(conn, prefix)
        staff = await store_setup.staff_levels(conn)
        counties = sorted({p["county_code"] for p in places} or {code[:6] + "000000"})
        townships = sorted({p["township_code"] for p in places})
        rosters = await store_setup.rostered(conn, townships + counties, settings.clock.now())
        in_use: set[str] = set()
        for county in counties:
            rules = {(r["event_type"], r["audience"]): r for r in await store_admin.list_rules(conn, county)}
            in_use |= {c for r in rules.values() if r["enabled"] for c in r["channels"] if c != "in_app"}
            enabled = {audience for (event, audience), r in rules.items() if event == "ContactOverdue" and r["enabled"]}
            if "county_staff" in enabled and ("county", county) not in staff:
                missing.append({"what": "recipients", "jurisdiction": county, "rung": "county",
                                "reason": "no county staff registered to receive escalations"})
            if county not in rosters:
                missing.append({"what": "duty_roster", "jurisdiction": county,
                                "reason": "nobody on the county's duty roster now or later"})
            for place in (p for p in places if p["county_code"] == county):
                township, school = place["township_code"], place["school_id"]
                if school and "school_staff" in enabled and ("school", school) not in staff:
                    missing.append({"what": "recipients", "jurisdiction": township, "rung": "school",
                                    "school_id": school, "reason": "no school staff registered for this school"})
            for township in sorted({p["township_code"] for p in places if p["county_code"] == county}):
                if "township_staff" in enabled and ("township", township) not in staff:
                    missing.append({"what": "recipients", "jurisdiction": township, "rung": "township",
                                    "reason": "no township staff registered to receive escalations"})
                if township not in rosters:
                    missing.append({"what": "duty_roster", "jurisdiction": township,
                                    "reason": "nobody on the township's duty roster now or later "
                                              "(alerts fall back to the county's roster, then to staff)"})
        for channel in sorted(in_use - set(configured) - set(SELF_PROVIDED)):
            missing.append({"what": "provider", "jurisdiction": code, "channel": channel,
                            "reason": f"the rules send by {channel} but no provider is configured"})
        waiting = await store_held.undeliverable_in_scope(conn, prefix)
    return {"jurisdiction": code, "complete": not missing, "missing": missing,
            "channels_configured": sorted(configured), "channels_in_use": sorted(in_use),
            "undeliverable": {"no_recipient": waiting.get("no_recipient", 0),
                              "no_provider": waiting.get("no_provider", 0)},
            "not_checked_here": ["expected_counts: the registry's (GET /registry/v1/expected-counts); "
                                 "`shouhu setup-check` asks it"]}


class Undeliverable(BaseModel):
    reason: str = Field(description="no_recipient (nobody to route to) | no_provider (a channel without one)")
    kind: str = Field(description="routing (an event's audience) | message (one notification)")
    ref: str = Field(description="the event id (routing) or the notification id (message)")
    event_type: str
    audience: str = Field(description="the audience (routing) or the recipient kind (message)")
    channel: str | None
    child_id: str | None
    county_code: str
    township_code: str
    school_id: str | None
    since: str


class UndeliverableList(BaseModel):
    items: list[Undeliverable]
    next_cursor: str | None
    total: int


@router.get("/undeliverable", response_model=UndeliverableList)
async def undeliverable(request: Request, principal: Caller, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                        cursor: Annotated[str | None, Query(max_length=40)] = None) -> dict[str, Any]:
    """What is waiting, in the caller's jurisdiction, for a recipient or a provider to be
    configured; each goes out by itself once it is."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    offset = _offset(cursor)
    async with request.app.state.pool.acquire() as conn:
        rows, total = await store_held.list_undeliverable(conn, principal.scope_prefix, offset=offset, limit=limit)
    items = [{**dict(row), "child_id": str(row["child_id"]) if row["child_id"] else None,
              "since": row["since"].isoformat()} for row in rows]
    following = offset + len(items)
    return {"items": items, "total": total,
            "next_cursor": base64.urlsafe_b64encode(str(following).encode()).decode() if following < total else None}


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except ValueError:
        raise RuleViolation("query.cursor", "not a cursor this list gave") from None


"""Administration: duty policies (per county, township and child priority) and scans
for an as-of date (backfills, tests)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.visits import scanner, scheduling, store_duties
from services.visits.domain_duties import Period
from shared.auth import scope_prefix
from shared.clean_text import CleanInput
from shared.contracts.events import CaregiverKind, DutyKind
from shared.conditional import IfMatch, etag, put_precondition
from shared.pagination import Page, Paging
from shared.rules import Refusal, RuleViolation
from services.visits.domain import POLICY_EDITORS
from shared.routes import Caller, STAFF_ROLES, require_roles

router = APIRouter(prefix="/v1/admin", tags=["administration"])
# A rule for every caregiver ("any") or for one kind of them.
PolicyCaregiverKind = Literal[("any", *get_args(CaregiverKind))]  # type: ignore[valid-type]


class PolicyOut(BaseModel):
    scope_code: str  # "default", or a county or township code
    audience: Literal["all", "priority"]
    duty_kind: str
    period: str
    caregiver_kind: str  # "any", or the kind of caregiver the rule is for
    role: Literal["lead", "helper"]
    version: int
    updated_by: str
    updated_at: datetime


class PolicyIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    period: Period


class ScanIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    as_of: date


def _out(row) -> PolicyOut:  # type: ignore[no-untyped-def]
    return PolicyOut(**{**dict(row), "scope_code": row["scope_code"] or "default",
                        "caregiver_kind": row["caregiver_kind"] or "any"})


@router.get("/duty-policies", response_model=Page[PolicyOut])
async def list_policies(request: Request, principal: Caller,
                        page: Paging) -> dict[str, Any]:
    """A short list (a few per county and duty kind), paged like every other."""
    require_roles(principal, *STAFF_ROLES)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_duties.list_policies(conn, principal.scope_prefix)
    return page.of_sequence([_out(row) for row in rows])


@router.put("/duty-policies/{scope}/{audience}/{duty_kind}", response_model=PolicyOut,
            responses={412: {"description": "If-Match is stale"},
                       428: {"description": "If-Match is missing and the policy is stored already"}})
async def put_policy(request: Request, response: Response, principal: Caller,
                     body: PolicyIn,
                     scope: Annotated[str, Path(pattern=r"^(default|\d{12})$")],
                     audience: Literal["all", "priority"], duty_kind: DutyKind,
                     caregiver_kind: Annotated[PolicyCaregiverKind, Query()] = "any",
                     role: Annotated[Literal["lead", "helper"], Query()] = "lead",
                     if_match: IfMatch = None) -> PolicyOut:
    """Sets how often a duty falls due in a county or township (or everywhere: "default",
    admin only), for the lead caregiver or for helpers (`role`), for every caregiver or one
    kind of them (`caregiver_kind`: caring_mother for 爱心妈妈), and derives every affected
    pairing's schedule again in the same transaction."""
    kind = "" if caregiver_kind == "any" else caregiver_kind
    require_roles(principal, *POLICY_EDITORS)
    scope_code = "" if scope == "default" else scope
    if scope_code == "" and not principal.has_role("admin"):
        raise Refusal(403, "forbidden", "only an admin changes the default policy")
    if scope_code:
        if len(scope_prefix(scope_code)) not in (6, 9):
            raise RuleViolation("path.scope", "a county or township code")
        if not principal.covers(scope_code):
            raise Refusal(404, "not_found", "no such jurisdiction in your scope")
    precondition = put_precondition(if_match)
    settings = request.app.state.settings
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        current = await store_duties.get_policy_for_update(conn, scope_code, audience, duty_kind, kind, role)
        precondition(current["version"] if current is not None else None)
        row = await store_duties.upsert_policy(conn, scope_code=scope_code, audience=audience, duty_kind=duty_kind,
                                               period=body.period, updated_by=principal.subject,
                                               caregiver_kind=kind, role=role)
        rules = await store_duties.load_policies(conn)
        for pairing_id in await store_duties.pairings_in_scope(conn, scope_code):
            await scheduling.derive_pairing(conn, settings, pairing_id, rules=rules)
    response.headers["ETag"] = etag(row["version"])
    return _out(row)


class ScanOut(BaseModel):
    as_of: date
    pairings_extended: int
    due_soon: int = Field(description="DutyDueSoon events announced")
    overdue_events: int = Field(description="ContactOverdue events announced")
    concerns_escalated: int
    case_deadlines_missed: int = Field(description="ConcernDeadlineMissed events announced")


@router.post("/scans", response_model=ScanOut)
async def run_scan(body: ScanIn, request: Request,
                   principal: Caller) -> dict:
    """Runs the scheduler's scan for `as_of` now (backfills, tests). Announces only what
    was not announced before, so running it twice is harmless. The scan covers every county's
    pairings and concerns: only an administrator with the national scope may start it."""
    require_roles(principal, *("admin",))
    if principal.scope_prefix:
        raise Refusal(403, "forbidden", "a scan covers every county: an administrator with the "
                                                       "national scope (000000000000) starts it")
    settings = request.app.state.settings
    if body.as_of > settings.clock.today() and not settings.allow_future_scans:
        raise RuleViolation("body.as_of", "is in the future (SHOUHU_VISITS_ALLOW_FUTURE_SCANS is off)")
    result = await scanner.run_scan(request.app.state.pool, request.app.state.settings, body.as_of)
    return result.as_dict()

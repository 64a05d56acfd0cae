"""What the reports' routes share: staff only, the scope a caller may ask for, the
period checked against the read model, refusals as 422 naming the field."""

from __future__ import annotations

import re
from datetime import date

import asyncpg
from fastapi import HTTPException, Request, status

from services.reports import store_summary
from services.reports.domain import Period, ReportRefused, check_period
from services.reports.summaries import Scope
from shared.auth import Principal, scope_prefix

# Reports are figures about jurisdictions, for the staff who answer for them; caregivers
# and other services have no use for them.
STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")
_DIVISION = re.compile(r"^\d{12}$")
_SCHOOL = re.compile(r"^\S{1,64}$")  # a school id as the registry keeps it: any visible characters


def require_staff(principal: Principal) -> None:
    if not principal.has_role(*STAFF_ROLES):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "staff roles only")


def unprocessable(field: str, reason: str) -> HTTPException:
    return HTTPException(422, [{"field": field, "reason": reason}])


def resolve_scope(principal: Principal, scope: str | None) -> Scope:
    """A division code inside the caller's jurisdiction, or a school id (looked for inside
    it); none: the caller's whole jurisdiction. A division outside it answers 403, as a
    statistic the caller may not see (there is no record to hide)."""
    if scope is None:
        return Scope(principal.jurisdiction, principal.scope_prefix)
    if _DIVISION.match(scope):
        try:
            prefix = scope_prefix(scope)
        except ValueError:
            raise unprocessable("query.scope", "a 12-digit division code or a school id") from None
        if not prefix.startswith(principal.scope_prefix):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "the scope is outside your jurisdiction")
        return Scope(scope, prefix)
    if not _SCHOOL.match(scope):
        raise unprocessable("query.scope", "a 12-digit division code or a school id")
    return Scope(principal.jurisdiction, principal.scope_prefix, school_id=scope)


def local_today(request: Request) -> date:
    return request.app.state.settings.clock.today()


async def checked_period(conn: asyncpg.Connection, request: Request, start: date, end: date,
                         as_of: date | None) -> tuple[Period, date, date]:
    """(period, as_of, first recorded day) or a 422 naming the field."""
    first_day = await store_summary.first_day(conn, request.app.state.settings.county_timezone)
    try:
        period, as_of = check_period(start, end, as_of, today=local_today(request), first_day=first_day)
    except ReportRefused as refused:
        raise unprocessable(refused.field, refused.reason) from None
    assert first_day is not None  # check_period refuses an empty read model
    return period, as_of, first_day

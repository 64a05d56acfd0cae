"""The reports' use cases that every route starts with: the scope a caller may ask for,
and the period checked against the read model (both refused 422 naming the field)."""

from __future__ import annotations

import re
from datetime import date

import asyncpg

from services.reports import store_summary
from services.reports.domain import Period, ReportRefused, check_period
from services.reports.summaries import Scope
from shared.auth import Principal, scope_prefix
from shared.scope import OUTSIDE
from shared.settings import ServiceSettings
from shared.rules import RuleViolation

_DIVISION = re.compile(r"^\d{12}$")
_SCHOOL = re.compile(r"^\S{1,64}$")  # a school id as the registry keeps it: any visible characters
_SCOPE_FORM = "a 12-digit division code or a school id"


def resolve_scope(principal: Principal, scope: str | None) -> Scope:
    """A division code inside the caller's jurisdiction, or a school id (looked for inside
    it); none: the caller's whole jurisdiction. A division outside it answers 403, as a
    filter the caller may not use (there is no record to hide)."""
    if scope is None:
        return Scope(principal.jurisdiction, principal.scope_prefix)
    if _DIVISION.match(scope):
        try:
            prefix = scope_prefix(scope)
        except ValueError:
            raise ReportRefused("query.scope", _SCOPE_FORM) from None
        if not prefix.startswith(principal.scope_prefix):
            raise RuleViolation("query.scope", OUTSIDE, 403)
        return Scope(scope, prefix)
    if not _SCHOOL.match(scope):
        raise ReportRefused("query.scope", _SCOPE_FORM)
    return Scope(principal.jurisdiction, principal.scope_prefix, school_id=scope)


async def checked_period(conn: asyncpg.Connection, settings: ServiceSettings, start: date, end: date,
                         as_of: date | None) -> tuple[Period, date, date]:
    """(period, as_of, first recorded day) or ReportRefused naming the field."""
    first_day = await store_summary.first_day(conn, settings.county_timezone)
    period, as_of = check_period(start, end, as_of, today=settings.clock.today(), first_day=first_day)
    assert first_day is not None  # check_period refuses an empty read model
    return period, as_of, first_day

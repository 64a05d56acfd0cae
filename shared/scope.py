"""The one rule for jurisdiction at the edge, the same in every service:

- a record outside the caller's scope is not there: 404, as for a record that does not
  exist, so that an id reveals nothing about another county's children;
- a filter outside the caller's scope (a township, village or school the caller may not
  see) is refused: 403 naming the query parameter, since an empty answer would read as
  "nothing is wrong there"."""

from __future__ import annotations

from fastapi import status

from shared.auth import Principal, scope_prefix
from shared.rules import Refusal, RuleViolation

OUTSIDE = "outside your jurisdiction"


def not_found(what: str = "record") -> Refusal:
    """To raise for a record that does not exist or lies outside the caller's scope."""
    return Refusal(status.HTTP_404_NOT_FOUND, "not_found", f"no such {what}")


def require_in_scope(principal: Principal, division_code: str | None, what: str = "record") -> None:
    """404 for a record whose place lies outside the caller's scope."""
    if not principal.covers(division_code):
        raise not_found(what)


def require_place_field(principal: Principal, division_code: str | None, field: str = "body.jurisdiction") -> None:
    """A write that names a place outside the caller's scope: 422 naming the field (the
    caller chose the value; nothing is revealed by refusing it)."""
    if not principal.covers(division_code):
        raise RuleViolation(field, OUTSIDE)


def narrowed_prefix(principal: Principal, jurisdiction: str | None, parameter: str = "jurisdiction") -> str:
    """The caller's scope, or the part of it a division-code query parameter names (403
    outside it)."""
    if jurisdiction is None:
        return principal.scope_prefix
    prefix = scope_prefix(jurisdiction)
    if not prefix.startswith(principal.scope_prefix):
        raise RuleViolation(f"query.{parameter}", OUTSIDE, status.HTTP_403_FORBIDDEN)
    return prefix


def require_division_filter(principal: Principal, parameter: str, division_code: str | None,
                            place: str = "query") -> None:
    """403 when a division-code filter (in the query, or the body of a search) names a place
    outside the caller's scope."""
    if division_code is not None and not principal.covers(division_code):
        raise RuleViolation(f"{place}.{parameter}", OUTSIDE, status.HTTP_403_FORBIDDEN)


def require_school_filter(principal: Principal, parameter: str, school_id: str | None,
                          place: str = "query") -> None:
    """403 when a school_staff token with a school asks for another school."""
    if school_id is not None and not principal.covers_school(school_id):
        raise RuleViolation(f"{place}.{parameter}", OUTSIDE, status.HTTP_403_FORBIDDEN)

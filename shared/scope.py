"""The one rule for jurisdiction at the edge, the same in every service:

- a record outside the caller's scope is not there: 404, as for a record that does not
  exist, so that an id reveals nothing about another county's children;
- a filter outside the caller's scope (a township, village or school the caller may not
  see) is refused: 403 naming the query parameter, since an empty answer would read as
  "nothing is wrong there"."""

from __future__ import annotations

from fastapi import HTTPException, status

from shared.auth import Principal
from shared.rules import RuleViolation

OUTSIDE = "outside your jurisdiction"


def not_found(what: str = "record") -> HTTPException:
    """To raise for a record that does not exist or lies outside the caller's scope."""
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no such {what}")


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

"""What every visits route shares: who may do what."""

from __future__ import annotations

import base64
import json
from typing import Any, Callable
from uuid import UUID

from fastapi import HTTPException, status

from shared.auth import Principal, scope_prefix
from shared.rules import RuleViolation

STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")
CONCERN_HANDLERS = ("admin", "county_staff", "township_staff")
POLICY_EDITORS = ("admin", "county_staff")


def is_staff(principal: Principal) -> bool:
    return principal.has_role(*STAFF_ROLES)


def caregiver_of(principal: Principal) -> UUID | None:
    """The caregiver id of a caregiver principal (None for anyone else)."""
    if principal.has_role("caregiver") and principal.caregiver_id:
        try:
            return UUID(principal.caregiver_id)
        except ValueError:
            return None
    return None


def require_staff(principal: Principal, roles: tuple[str, ...] = STAFF_ROLES) -> None:
    if not principal.has_role(*roles):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"one of these roles is needed: {', '.join(roles)}")


def encode_cursor(*parts: object) -> str:
    """An opaque `next_cursor`: the sort key of a page's last row."""
    raw = json.dumps([str(part) for part in parts]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *types: Callable[[str], Any]) -> tuple[Any, ...]:
    """The sort key a cursor holds, each part parsed by its type (date.fromisoformat, UUID);
    anything else is a 422 on the query's `cursor`."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(parts, list) or len(parts) != len(types):
            raise ValueError("wrong length")
        return tuple(parse(part) for parse, part in zip(types, parts))
    except (ValueError, TypeError):
        raise RuleViolation("query.cursor", "is not a cursor this list gave") from None


# A county's own vocabularies (activity types, referral agencies): the defaults every county
# starts with are stored under county_code '' and path segment "default".
def vocabulary_county_to_read(principal: Principal, county_code: str | None) -> str:
    """The county whose vocabulary a staff member reads: the one named, else their own; a
    county outside their scope is 404."""
    require_staff(principal, STAFF_ROLES)
    county = (county_code or principal.jurisdiction)[:6] + "000000"
    if not (principal.covers(county) or county.startswith(principal.scope_prefix[:6])):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such county in your scope")
    return county


def vocabulary_county_to_write(principal: Principal, county: str) -> str:
    """The stored county code for a change to a vocabulary at path segment `county`: county
    staff of that county and admin; the defaults ("default" → '') are admin's only."""
    require_staff(principal, POLICY_EDITORS)
    if county == "default":
        if not principal.has_role("admin"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin changes the defaults every county starts with")
        return ""
    if len(scope_prefix(county)) != 6:
        raise RuleViolation("path.county", "a county code")
    if not principal.covers(county):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such county in your scope")
    return county

"""What every visits route shares: who may do what."""

from __future__ import annotations

import base64
import json
from typing import Any, Callable
from uuid import UUID

from fastapi import HTTPException, status

from shared.auth import Principal
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

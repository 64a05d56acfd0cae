"""What notify's routes share: role checks, 422 bodies, If-Match."""

from __future__ import annotations

from fastapi import HTTPException, status

from shared.auth import Principal

STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")
ADMIN_ROLES = ("admin", "county_staff")


def require_roles(principal: Principal, *roles: str) -> None:
    if not principal.has_role(*roles):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this role may not do that")


def unprocessable(field: str, reason: str) -> HTTPException:
    return HTTPException(422, [{"field": field, "reason": reason}])


def in_scope(principal: Principal, code: str) -> None:
    """Out of scope reads as 'not there' (404), like every Shouhu service."""
    if not principal.covers(code):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")


def expected_version(if_match: str | None) -> int | None:
    """`If-Match: "3"` (or W/"3", or 3) → 3; absent → None (no precondition)."""
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise unprocessable("header.If-Match", "the version (ETag) of the record, e.g. \"3\"")
    return int(value)


def stale() -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, "the record changed since you read it; read it again")

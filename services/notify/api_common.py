"""What notify's routes share: role checks and the jurisdiction rule."""

from __future__ import annotations

from fastapi import HTTPException, status

from shared.auth import Principal

STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")
ADMIN_ROLES = ("admin", "county_staff")


def require_roles(principal: Principal, *roles: str) -> None:
    if not principal.has_role(*roles):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this role may not do that")


def in_scope(principal: Principal, code: str) -> None:
    """Out of scope reads as 'not there' (404), like every Shouhu service."""
    if not principal.covers(code):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")

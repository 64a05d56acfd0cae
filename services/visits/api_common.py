"""What every visits route shares: who may do what."""

from __future__ import annotations

from uuid import UUID

from fastapi import HTTPException, status

from shared.auth import Principal

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

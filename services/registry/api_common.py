"""What every registry route needs: who may call, whether to unmask, versions, errors."""

from __future__ import annotations

from datetime import date
from typing import NoReturn
from urllib.parse import unquote

from fastapi import HTTPException, Request, status

from shared.rules import RuleViolation
from shared.auth import Principal
from shared.crypto import FieldCipher

STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")
MAX_PURPOSE = 200


def require_staff(principal: Principal) -> None:
    """Deny by default. Caregivers see their children through pairing, not the registry."""
    if not principal.has_role(*STAFF_ROLES):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the registry is open to staff roles only")


def cipher_of(request: Request) -> FieldCipher:
    return request.app.state.cipher


def today(request: Request) -> date:
    """The county's today (shared/clock.py), not the UTC date: the two differ eight hours a day."""
    return request.app.state.settings.clock.today()


def stated_purpose(request: Request) -> str | None:
    """`X-Purpose` header (percent-encoded if not ASCII) or `purpose` query parameter."""
    raw = request.headers.get("x-purpose") or request.query_params.get("purpose")
    if raw is None:
        return None
    purpose = unquote(raw).strip()
    if not purpose:
        return None
    if len(purpose) > MAX_PURPOSE:
        raise HTTPException(422, [{"field": "header.X-Purpose", "reason": f"at most {MAX_PURPOSE} characters"}])
    return purpose


def unmask_purpose(request: Request, principal: Principal) -> str | None:
    """The purpose to record when this read may show sensitive fields in clear, else None:
    only with `view_sensitive` AND a stated purpose; everyone else gets masked values."""
    purpose = stated_purpose(request)
    if purpose and principal.can("view_sensitive"):
        return purpose
    return None


def expected_version(request: Request, body_version: int | None) -> int:
    """The version the client last saw: If-Match ("3", W/"3") or the body's `version`."""
    header = request.headers.get("if-match")
    if header:
        value = header.strip().removeprefix("W/").strip('"')
        if not value.isdigit():
            raise HTTPException(422, [{"field": "header.If-Match", "reason": "the record's version (its ETag)"}])
        return int(value)
    if body_version is not None:
        return body_version
    raise HTTPException(status.HTTP_428_PRECONDITION_REQUIRED,
                        [{"field": "header.If-Match", "reason": "send the version you edited (If-Match or body.version)"}])


def rule_error(violation: RuleViolation) -> NoReturn:
    field = violation.field if violation.field.startswith(("body.", "header.")) else f"body.{violation.field}"
    raise HTTPException(violation.status_code, [{"field": field, "reason": violation.reason}]) from None


def not_found() -> NoReturn:
    raise HTTPException(status.HTTP_404_NOT_FOUND, "no such child")


def stale() -> NoReturn:
    raise HTTPException(status.HTTP_409_CONFLICT,
                        "the record changed since you read it; read it again and re-apply your change")

"""The route toolkit every service's `api_*.py` is written with, so a route reads the same
in registry, pairing, visits, notify and reports:

- typed dependencies: `Caller` (the signed-in principal), `Cipher`, `Settings`, `Today`
  (the county's date on the service's clock); `transaction(request)` for one connection
  in one transaction;
- `Idempotent`: the one `Idempotency-Key` dependency for creates (a retry gets the first
  answer, with its `ETag` and `Location`);
- who may call: `require_roles` / `require_staff`, refused 403;
- versions: `IfMatch`, `expected_version`, `put_precondition`, `etag_headers`, `stale` come
  from `shared.conditional`; jurisdiction: `not_found`, `require_in_scope` and the filter
  rules from `shared.scope`;
- a domain rule raises `shared.rules.RuleViolation` or `Refusal`; `shared.problems`
  answers it, so no route writes an error body of its own.

Use cases (rules + SQL + events) live in each service's `commands.py`, not here."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, AsyncIterator, Awaitable, Callable
from uuid import UUID

import asyncpg
from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from shared import idempotency
from shared.auth import Principal, require_principal
from shared.conditional import IdempotencyKey, etag_headers
from shared.crypto import FieldCipher
from shared.rules import Refusal
from shared.settings import ServiceSettings

# Staff read and write within their jurisdiction; county staff and admin also set a
# county's policies. Caregivers reach children only through their pairings.
STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")
ADMIN_ROLES = ("admin", "county_staff")

Caller = Annotated[Principal, Depends(require_principal)]


def require_roles(principal: Principal, *roles: str) -> None:
    """Deny by default: 403 unless the caller holds one of `roles`."""
    if not principal.has_role(*roles):
        raise Refusal(403, "role_not_allowed", f"one of these roles is needed: {', '.join(roles)}")


def require_staff(principal: Principal) -> None:
    require_roles(principal, *STAFF_ROLES)


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


def cipher_of(request: Request) -> FieldCipher:
    found: FieldCipher = request.app.state.cipher
    return found


def settings_of(request: Request) -> ServiceSettings:
    found: ServiceSettings = request.app.state.settings
    return found


def today(request: Request) -> date:
    """The county's today on the service's clock (shared/clock.py), not the UTC date: the
    two differ eight hours a day."""
    return settings_of(request).clock.today()


Cipher = Annotated[FieldCipher, Depends(cipher_of)]
Settings = Annotated[ServiceSettings, Depends(settings_of)]
Today = Annotated[date, Depends(today)]


@asynccontextmanager
async def transaction(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection in one transaction, committed when the block ends without an
    exception. (A context manager rather than a yield-dependency: the commit must happen
    before the answer is sent.)"""
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            yield conn


Create = Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]]


class IdempotentCreate:
    """A create guarded by the caller's `Idempotency-Key` (when given)."""

    def __init__(self, request: Request, principal: Principal, key: str | None) -> None:
        self.request = request
        self.principal = principal
        self.key = key

    async def run(self, fingerprint_of: Any, create: Create) -> tuple[int, Any]:
        """`create(conn)` in one transaction → (status, JSON body); a retry with the same key
        and request gets the first answer. An exception rolls back and is not remembered, so
        the client may retry once its cause is gone."""
        fingerprint = idempotency.request_fingerprint(jsonable_encoder(fingerprint_of))
        return await idempotency.once(self.request.app.state.pool, self.principal.subject, self.key,
                                      fingerprint, create)

    async def answer(self, fingerprint_of: Any, create: Create, location: str | None = None) -> JSONResponse:
        """`run`, answered with the body's `ETag` and, when `location` is given, `Location`
        (a path template filled with the created body's fields: `/v1/caregivers/{id}`)."""
        status_code, encoded = await self.run(fingerprint_of, create)
        headers = etag_headers(encoded)
        if location is not None and isinstance(encoded, dict):
            headers["Location"] = location.format(**encoded)
        return JSONResponse(encoded, status_code=status_code, headers=headers)


async def idempotent(request: Request, principal: Caller, idempotency_key: IdempotencyKey = None) -> IdempotentCreate:
    return IdempotentCreate(request, principal, idempotency_key)


Idempotent = Annotated[IdempotentCreate, Depends(idempotent)]

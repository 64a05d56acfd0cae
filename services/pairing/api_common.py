"""What pairing's routes share: who may do what, the cipher, Idempotency-Key handling.
(Refusals and rule violations are answered by the shared handlers in shared.problems.)"""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import date
from typing import Any, AsyncIterator, Awaitable, Callable

import asyncpg
from fastapi import HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from shared import idempotency
from shared.auth import Principal, scope_prefix
from shared.conditional import etag_headers
from shared.crypto import FieldCipher
from shared.rules import RuleViolation

# Staff read and write within their jurisdiction (school staff included: school heads pair
# their teachers with their pupils, 篇3, 篇12); caregivers see their own pairings only.
STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")


def today(request: Request) -> date:
    """The county's date on the service's clock (shared/clock.py)."""
    return request.app.state.settings.clock.today()


def require_staff(principal: Principal) -> None:
    if not principal.has_role(*STAFF_ROLES):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "staff roles only")


def require_in_scope(principal: Principal, division_code: str) -> None:
    """A write into a jurisdiction outside the caller's scope: 422 naming the field."""
    if not principal.covers(division_code):
        raise RuleViolation("body.jurisdiction", "outside your jurisdiction")


def deepest_code(row: Any) -> str:
    return row["village_code"] or row["township_code"]


def cipher(request: Request) -> FieldCipher:
    return request.app.state.cipher


@asynccontextmanager
async def transaction(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            yield conn


async def idempotent_create(request: Request, principal: Principal, body: Any, key: str | None,
                            create: Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]],
                            location: str | None = None) -> JSONResponse:
    """Runs `create` in one transaction with the Idempotency-Key (when given): a retry gets
    the first answer, with its ETag. A refusal (domain.Refusal) rolls back and is not
    remembered, so the client may retry once the reason is gone. `location` is a path
    template filled with the created body's fields (`/v1/caregivers/{id}`)."""
    fingerprint = idempotency.request_fingerprint(jsonable_encoder(body))
    status_code, encoded = await idempotency.once(request.app.state.pool, principal.subject, key, fingerprint, create)
    headers = etag_headers(encoded)
    if location is not None:
        headers["Location"] = location.format(**encoded)
    return JSONResponse(encoded, status_code=status_code, headers=headers)


def narrowed_prefix(principal: Principal, jurisdiction: str | None) -> str:
    """The caller's scope, or a part of it named by a `jurisdiction` query parameter."""
    if jurisdiction is None:
        return principal.scope_prefix
    prefix = scope_prefix(jurisdiction)
    if not prefix.startswith(principal.scope_prefix):
        raise RuleViolation("query.jurisdiction", "outside your jurisdiction", 403)
    return prefix

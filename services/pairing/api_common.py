"""What pairing's routes share: who may do what, refusals as HTTP answers, the cipher,
Idempotency-Key handling."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import date
from typing import Any, AsyncIterator, Awaitable, Callable

import asyncpg
from fastapi import HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.pairing import domain
from shared import idempotency
from shared.auth import Principal, scope_prefix
from shared.crypto import FieldCipher

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
        raise HTTPException(422, [{"field": "body.jurisdiction", "reason": "outside your jurisdiction"}])


def deepest_code(row: Any) -> str:
    return row["village_code"] or row["township_code"]


def refusal_response(refusal: domain.Refusal) -> JSONResponse:
    return JSONResponse(refusal.body(), status_code=refusal.status)


def cipher(request: Request) -> FieldCipher:
    return request.app.state.cipher


@asynccontextmanager
async def transaction(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            yield conn


async def idempotent_create(request: Request, principal: Principal, body: Any,
                            create: Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]]) -> JSONResponse:
    """Runs `create` in one transaction with the Idempotency-Key (when given): a retry gets
    the first answer. A refusal (domain.Refusal) rolls back and is not remembered, so the
    client may retry once the reason is gone."""
    fingerprint = idempotency.request_fingerprint(jsonable_encoder(body))
    try:
        status_code, encoded = await idempotency.once(request.app.state.pool, principal.subject,
                                                      request.headers.get("idempotency-key"), fingerprint, create)
    except domain.Refusal as refusal:
        return refusal_response(refusal)
    return JSONResponse(encoded, status_code=status_code)


def if_match_version(request: Request, body_version: int | None) -> int:
    """The version a change applies to: If-Match ("3" or W/"3") or the body's `version`."""
    header = request.headers.get("if-match")
    if header:
        raw = header.strip().removeprefix("W/").strip('"')
        if raw.isdigit():
            return int(raw)
        raise HTTPException(422, [{"field": "header.If-Match", "reason": "the record's version number"}])
    if body_version is None:
        raise HTTPException(428, [{"field": "header.If-Match", "reason": "required: the version you changed"}])
    return body_version


def narrowed_prefix(principal: Principal, jurisdiction: str | None) -> str:
    """The caller's scope, or a part of it named by a `jurisdiction` query parameter."""
    if jurisdiction is None:
        return principal.scope_prefix
    prefix = scope_prefix(jurisdiction)
    if not prefix.startswith(principal.scope_prefix):
        raise HTTPException(422, [{"field": "query.jurisdiction", "reason": "outside your jurisdiction"}])
    return prefix

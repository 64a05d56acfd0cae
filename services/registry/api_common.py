"""What every registry route needs: who may call, whether to unmask, versions, errors."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import NoReturn
from urllib.parse import unquote

import asyncpg
from fastapi import HTTPException, Request, status

from services.registry.division_cache import DivisionCache

from shared.rules import RuleViolation
from shared.auth import Principal
from shared.contracts import Jurisdiction
from shared.crypto import FieldCipher

STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")
MAX_PURPOSE = 200


def require_staff(principal: Principal) -> None:
    """Deny by default. Caregivers see their children through pairing, not the registry."""
    if not principal.has_role(*STAFF_ROLES):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "信息库只对工作人员开放 / the registry is open to staff roles only")


def cipher_of(request: Request) -> FieldCipher:
    return request.app.state.cipher


def divisions_of(request: Request) -> DivisionCache:
    return request.app.state.divisions


async def named(request: Request, conn: asyncpg.Connection, bodies: list[dict]) -> list[dict]:
    """Records' bodies with the names of their places (关岭布依族苗族自治县 / 新铺镇 / …)."""
    cache = divisions_of(request)
    await cache.load(conn, (body["jurisdiction"]["county_code"] for body in bodies))
    return [cache.with_names(body) for body in bodies]


async def check_places(request: Request, conn: asyncpg.Connection, jurisdiction: Jurisdiction) -> None:
    """The codes exist in the division register and nest: 422 naming the code otherwise."""
    cache = divisions_of(request)
    await cache.load(conn, [jurisdiction.county_code])
    try:
        cache.county(jurisdiction.county_code).check(
            jurisdiction.county_code, jurisdiction.township_code, jurisdiction.village_code)
    except RuleViolation as violation:
        rule_error(violation)


def today() -> date:
    return datetime.now(timezone.utc).date()


def stated_purpose(request: Request) -> str | None:
    """`X-Purpose` header (percent-encoded if not ASCII) or `purpose` query parameter."""
    raw = request.headers.get("x-purpose") or request.query_params.get("purpose")
    if raw is None:
        return None
    purpose = unquote(raw).strip()
    if not purpose:
        return None
    if len(purpose) > MAX_PURPOSE:
        raise HTTPException(422, [{"field": "header.X-Purpose", "reason": f"最多{MAX_PURPOSE}个字符 / at most {MAX_PURPOSE} characters"}])
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
            raise HTTPException(422, [{"field": "header.If-Match", "reason": "应为档案的版本号（ETag） / the record's version (its ETag)"}])
        return int(value)
    if body_version is not None:
        return body_version
    raise HTTPException(status.HTTP_428_PRECONDITION_REQUIRED,
                        [{"field": "header.If-Match", "reason": "请提供所修改的版本号 / send the version you edited (If-Match or body.version)"}])


def rule_error(violation: RuleViolation) -> NoReturn:
    field = violation.field if violation.field.startswith(("body.", "header.")) else f"body.{violation.field}"
    raise HTTPException(violation.status_code, [{"field": field, "reason": violation.reason}]) from None


def not_found() -> NoReturn:
    raise HTTPException(status.HTTP_404_NOT_FOUND, "没有这个档案 / no such child")


def stale() -> NoReturn:
    raise HTTPException(status.HTTP_409_CONFLICT,
                        "档案已被他人修改，请重新打开后再改 / "
                        "the record changed since you read it; read it again and re-apply your change")

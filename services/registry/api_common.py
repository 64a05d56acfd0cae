"""What every registry route needs: who may call, whether to unmask, not-found."""

from __future__ import annotations

from datetime import date
from typing import NoReturn
from uuid import UUID, uuid4

import asyncpg
from fastapi import HTTPException, Request, status

from services.registry import store_schools
from services.registry.division_cache import DivisionCache
from services.registry.schools import UNKNOWN_SCHOOL
from services.registry.encrypted_columns import GROWTH_NOTE
from services.registry.models import GrowthNoteIn
from shared.auth import Principal
from shared.contracts import Jurisdiction
from shared.crypto import FieldCipher
from shared.purpose import StatedPurpose as StatedPurpose, clear_purpose  # re-exported to the routes
from shared.rules import RuleViolation

STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")


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
    cache.county(jurisdiction.county_code).check(
        jurisdiction.county_code, jurisdiction.township_code, jurisdiction.village_code)


async def check_school(conn: asyncpg.Connection, county_code: str, school_id: str | None,
                       field: str = "body.school_id") -> None:
    """Once the county keeps a school register, a record's school must be one of it."""
    if school_id is None:
        return
    if await store_schools.county_keeps_register(conn, county_code) and not await store_schools.school_in_county(
            conn, school_id, county_code):
        raise RuleViolation(field, UNKNOWN_SCHOOL)


def today(request: Request) -> date:
    """The county's today (shared/clock.py), not the UTC date: the two differ eight hours a day."""
    return request.app.state.settings.clock.today()


# The purpose rule is the one every service follows (shared/purpose.py).
unmask_purpose = clear_purpose


def not_found() -> NoReturn:
    raise HTTPException(status.HTTP_404_NOT_FOUND, "没有这个档案 / no such child")


def sealed_growth_note(request: Request, body: GrowthNoteIn) -> tuple[UUID, str]:
    """A new growth note's id and its text encrypted under that id (whoever writes it: staff
    or the paired caregiver); a date in the county's future is refused."""
    if body.noted_on > today(request):
        raise RuleViolation("body.noted_on", "日期在未来 / is in the future")
    note_id = uuid4()
    return note_id, cipher_of(request).encrypt(body.text, context=GROWTH_NOTE.context(note_id))

"""Registry use cases the routes share: rules + SQL (store*) + encryption, inside the
caller's open transaction. The child record's own changes (create, correct, move, close)
are in card_edits.py, the writers of a sheet in sheet_writers.py."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import asyncpg

from services.registry import store_schools
from services.registry.division_cache import DivisionCache
from services.registry.encrypted_columns import GROWTH_NOTE
from services.registry.models import GrowthNoteIn
from services.registry.schools import UNKNOWN_SCHOOL
from shared.contracts import Jurisdiction
from shared.crypto import FieldCipher
from shared.rules import RuleViolation


async def named(divisions: DivisionCache, conn: asyncpg.Connection, bodies: list[dict]) -> list[dict]:
    """Records' bodies with the names of their places (关岭布依族苗族自治县 / 新铺镇 / …)."""
    await divisions.load(conn, (body["jurisdiction"]["county_code"] for body in bodies))
    return [divisions.with_names(body) for body in bodies]


async def check_places(divisions: DivisionCache, conn: asyncpg.Connection, jurisdiction: Jurisdiction) -> None:
    """The codes exist in the division register and nest: 422 naming the code otherwise."""
    await divisions.load(conn, [jurisdiction.county_code])
    divisions.county(jurisdiction.county_code).check(
        jurisdiction.county_code, jurisdiction.township_code, jurisdiction.village_code)


async def check_school(conn: asyncpg.Connection, county_code: str, school_id: str | None,
                       field: str = "body.school_id") -> None:
    """Once the county keeps a school register, a record's school must be one of it."""
    if school_id is None:
        return
    if await store_schools.county_keeps_register(conn, county_code) and not await store_schools.school_in_county(
            conn, school_id, county_code):
        raise RuleViolation(field, UNKNOWN_SCHOOL)


def sealed_growth_note(cipher: FieldCipher, today: date, body: GrowthNoteIn) -> tuple[UUID, str]:
    """A new growth note's id and its text encrypted under that id (whoever writes it: staff
    or the paired caregiver); a date in the county's future is refused."""
    if body.noted_on > today:
        raise RuleViolation("body.noted_on", "日期在未来 / is in the future")
    note_id = uuid4()
    return note_id, cipher.encrypt(body.text, context=GROWTH_NOTE.context(note_id))

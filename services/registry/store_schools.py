"""SQL of the school register (学校名录)."""

from __future__ import annotations

from typing import Any

import asyncpg

SCHOOL_COLUMNS = "id, county_code, township_code, name, code, stage, head, version, created_at, updated_at"


class SchoolTaken(Exception):
    """Another school of the county has this name, or another school this code or id."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _taken(exc: asyncpg.UniqueViolationError) -> SchoolTaken:
    constraint = exc.constraint_name or ""
    # schools_county_code_name_key, schools_code_key, schools_pkey
    return SchoolTaken("name" if constraint.endswith("name_key") else "code" if constraint.endswith("code_key")
                       else "id")


async def insert_school(conn: asyncpg.Connection, values: dict[str, Any], created_by: str) -> asyncpg.Record:
    try:
        async with conn.transaction():
            return await conn.fetchrow(
                f"""INSERT INTO schools (id, county_code, township_code, name, code, stage, head, created_by)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {SCHOOL_COLUMNS}""",
                values["id"], values["county_code"], values["township_code"], values["name"], values["code"],
                values["stage"], values["head"], created_by)
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from None


async def update_school(conn: asyncpg.Connection, school_id: str, values: dict[str, Any],
                        expected_version: int) -> asyncpg.Record | None:
    try:
        async with conn.transaction():
            return await conn.fetchrow(
                f"""UPDATE schools SET township_code = $3, name = $4, code = $5, stage = $6, head = $7,
                           version = version + 1, updated_at = now()
                     WHERE id = $1 AND version = $2 RETURNING {SCHOOL_COLUMNS}""",
                school_id, expected_version, values["township_code"], values["name"], values["code"],
                values["stage"], values["head"])
    except asyncpg.UniqueViolationError as exc:
        raise _taken(exc) from None


async def get_school(conn: asyncpg.Connection, school_id: str, scope_prefix: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {SCHOOL_COLUMNS} FROM schools WHERE id = $1 AND township_code LIKE $2 || '%'",
        school_id, scope_prefix)


async def list_schools(conn: asyncpg.Connection, scope_prefix: str, *, township_code: str | None,
                       after: tuple[str, str] | None, limit: int) -> list[asyncpg.Record]:
    """By township, then name (keyset: the last (township, name) of the previous page)."""
    return await conn.fetch(
        f"""SELECT {SCHOOL_COLUMNS} FROM schools
             WHERE township_code LIKE $1 || '%' AND ($2::text IS NULL OR township_code = $2)
               AND ($3::text IS NULL OR (township_code, name) > ($3, $4))
             ORDER BY township_code, name LIMIT $5""",
        scope_prefix, township_code, after[0] if after else None, after[1] if after else None, limit)


async def count_schools(conn: asyncpg.Connection, scope_prefix: str, township_code: str | None) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM schools WHERE township_code LIKE $1 || '%' AND ($2::text IS NULL OR township_code = $2)",
        scope_prefix, township_code)


async def county_keeps_register(conn: asyncpg.Connection, county_code: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM schools WHERE county_code = $1)", county_code))


async def school_in_county(conn: asyncpg.Connection, school_id: str, county_code: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM schools WHERE id = $1 AND county_code = $2)",
                                    school_id, county_code))


async def schools_of_counties(conn: asyncpg.Connection, county_codes: list[str]) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT id, county_code, name, code FROM schools WHERE county_code = ANY($1::text[])",
                            county_codes)


async def school_names(conn: asyncpg.Connection, school_ids: list[str]) -> dict[str, str]:
    """id → name of these schools in the register (ids unknown to it are left out)."""
    rows = await conn.fetch("SELECT id, name FROM schools WHERE id = ANY($1::text[])", school_ids)
    return {row["id"]: row["name"] for row in rows}


async def school_names_in_scope(conn: asyncpg.Connection, school_ids: list[str],
                                scope_prefix: str) -> dict[str, str]:
    """id → name of these schools of the register within a jurisdiction (others left out)."""
    rows = await conn.fetch("SELECT id, name FROM schools WHERE id = ANY($1::text[]) AND township_code LIKE $2 || '%'",
                            school_ids, scope_prefix)
    return {row["id"]: row["name"] for row in rows}


async def school_by_name(conn: asyncpg.Connection, county_code: str, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, version FROM schools WHERE county_code = $1 AND name = $2",
                               county_code, name)

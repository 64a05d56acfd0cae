"""Every SQL statement of the registry. Functions take a connection; callers own transactions."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.registry.domain import NewChild


async def insert_child(conn: asyncpg.Connection, child: NewChild, created_by: str) -> None:
    await conn.execute(
        """INSERT INTO children (id, name, gender, birth_date, county_code, township_code, village_code,
                                 school_id, categories, priority, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        child.id, child.name, child.gender, child.birth_date, child.jurisdiction.county_code,
        child.jurisdiction.township_code, child.jurisdiction.village_code, child.school_id,
        list(child.categories), child.priority, created_by,
    )


async def get_child_in_scope(conn: asyncpg.Connection, child_id: UUID, scope_prefix: str) -> asyncpg.Record | None:
    """A record outside the caller's jurisdiction is treated as not there at all."""
    return await conn.fetchrow(
        """SELECT id, name, gender, birth_date, county_code, township_code, village_code, school_id,
                  categories, priority, status, version, created_at, updated_at
             FROM children WHERE id = $1 AND coalesce(village_code, township_code) LIKE $2 || '%'""",
        child_id, scope_prefix,
    )


async def list_children_in_scope(conn: asyncpg.Connection, scope_prefix: str, *, after: UUID | None,
                                 limit: int) -> list[asyncpg.Record]:
    """Keyset pagination by id: stable under concurrent inserts, cheap at any depth."""
    return await conn.fetch(
        """SELECT id, name, gender, birth_date, county_code, township_code, village_code, school_id,
                  categories, priority, status, version, created_at, updated_at
             FROM children
            WHERE coalesce(village_code, township_code) LIKE $1 || '%' AND ($2::uuid IS NULL OR id > $2)
            ORDER BY id LIMIT $3""",
        scope_prefix, after, limit,
    )

"""Every SQL statement of pairing. Functions take a connection; callers own transactions."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from shared.contracts import ChildRegistered, ChildUpdated


async def upsert_child(conn: asyncpg.Connection, event: ChildRegistered | ChildUpdated) -> None:
    """Writes the projection unless it already holds this record version or a newer one."""
    await conn.execute(
        """INSERT INTO children (id, county_code, township_code, village_code, school_id, priority,
                                 age_band, status, record_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET
               county_code = EXCLUDED.county_code, township_code = EXCLUDED.township_code,
               village_code = EXCLUDED.village_code, school_id = EXCLUDED.school_id,
               priority = EXCLUDED.priority, age_band = EXCLUDED.age_band, status = EXCLUDED.status,
               record_version = EXCLUDED.record_version, updated_at = now()
           WHERE children.record_version < EXCLUDED.record_version""",
        event.child_id, event.jurisdiction.county_code, event.jurisdiction.township_code,
        event.jurisdiction.village_code, event.school_id, event.priority, event.age_band, event.status,
        event.record_version,
    )


async def get_child_in_scope(conn: asyncpg.Connection, child_id: UUID, scope_prefix: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT * FROM children
            WHERE id = $1 AND coalesce(village_code, township_code) LIKE $2 || '%'""",
        child_id, scope_prefix,
    )

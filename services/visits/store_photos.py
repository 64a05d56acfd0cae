"""SQL for a contact's photos (sealed by the routes before they get here)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def get_photo(conn: asyncpg.Connection, contact_id: UUID, slot: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM contact_photos WHERE contact_id = $1 AND slot = $2", contact_id, slot)


async def list_photos(conn: asyncpg.Connection, contact_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT slot, content_type, size_bytes, stored_at FROM contact_photos
            WHERE contact_id = $1 ORDER BY slot""", contact_id)


async def insert_photo(conn: asyncpg.Connection, *, photo_id: UUID, contact_id: UUID, slot: int, content_type: str,
                       size_bytes: int, photo_enc: str, stored_by: str, stored_at: datetime) -> bool:
    """False when the slot was filled meanwhile (a concurrent resend)."""
    return await conn.fetchval(
        """INSERT INTO contact_photos (id, contact_id, slot, content_type, size_bytes, photo_enc, stored_by, stored_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (contact_id, slot) DO NOTHING RETURNING true""",
        photo_id, contact_id, slot, content_type, size_bytes, photo_enc, stored_by, stored_at) is True

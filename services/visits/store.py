"""Every SQL statement of visits. Functions take a connection; callers own transactions."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.visits.domain import NewContact
from shared.contracts import ChildRegistered, ChildUpdated, Jurisdiction


async def upsert_child(conn: asyncpg.Connection, event: ChildRegistered | ChildUpdated) -> None:
    await conn.execute(
        """INSERT INTO children (id, county_code, township_code, village_code, status, record_version)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET
               county_code = EXCLUDED.county_code, township_code = EXCLUDED.township_code,
               village_code = EXCLUDED.village_code, status = EXCLUDED.status,
               record_version = EXCLUDED.record_version
           WHERE children.record_version < EXCLUDED.record_version""",
        event.child_id, event.jurisdiction.county_code, event.jurisdiction.township_code,
        event.jurisdiction.village_code, event.status, event.record_version,
    )


async def get_child_in_scope(conn: asyncpg.Connection, child_id: UUID, scope_prefix: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT * FROM children WHERE id = $1 AND coalesce(village_code, township_code) LIKE $2 || '%'""",
        child_id, scope_prefix,
    )


async def insert_contact(conn: asyncpg.Connection, contact: NewContact, jurisdiction: Jurisdiction,
                         logged_by: str) -> bool:
    """False when a contact with this id exists already (an offline client's resend)."""
    inserted = await conn.fetchval(
        """INSERT INTO contacts (id, child_id, caregiver_id, kind, occurred_at, county_code,
                                 township_code, village_code, logged_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO NOTHING RETURNING true""",
        contact.id, contact.child_id, contact.caregiver_id, contact.kind, contact.occurred_at,
        jurisdiction.county_code, jurisdiction.township_code, jurisdiction.village_code, logged_by,
    )
    return bool(inserted)


async def get_contact(conn: asyncpg.Connection, contact_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, child_id, caregiver_id, kind, occurred_at, logged_at FROM contacts WHERE id = $1", contact_id)


async def list_contacts_for_child(conn: asyncpg.Connection, child_id: UUID, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, child_id, caregiver_id, kind, occurred_at, logged_at FROM contacts
            WHERE child_id = $1 ORDER BY occurred_at DESC LIMIT $2""",
        child_id, limit,
    )

"""Every SQL statement of notify. Functions take a connection; callers own transactions."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.notify.domain import PlannedNotification
from shared.contracts import ChildRegistered, ChildUpdated


async def upsert_child(conn: asyncpg.Connection, event: ChildRegistered | ChildUpdated) -> None:
    await conn.execute(
        """INSERT INTO children (id, county_code, township_code, village_code, record_version)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET
               county_code = EXCLUDED.county_code, township_code = EXCLUDED.township_code,
               village_code = EXCLUDED.village_code, record_version = EXCLUDED.record_version
           WHERE children.record_version < EXCLUDED.record_version""",
        event.child_id, event.jurisdiction.county_code, event.jurisdiction.township_code,
        event.jurisdiction.village_code, event.record_version,
    )


async def get_child(conn: asyncpg.Connection, child_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM children WHERE id = $1", child_id)


async def insert_notification(conn: asyncpg.Connection, planned: PlannedNotification, township_code: str,
                              village_code: str | None) -> None:
    await conn.execute(
        """INSERT INTO notifications (id, source_event_id, recipient_kind, recipient_id, channel, template,
                                      child_id, township_code, village_code)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (source_event_id, recipient_kind, recipient_id, channel) DO NOTHING""",
        planned.id, planned.source_event_id, planned.recipient_kind, planned.recipient_id, planned.channel,
        planned.template, planned.child_id, township_code, village_code,
    )


async def list_notifications(conn: asyncpg.Connection, *, recipient_kind: str, recipient_id: str,
                             scope_prefix: str, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, source_event_id, recipient_kind, recipient_id, channel, template, child_id, status, created_at
             FROM notifications
            WHERE recipient_kind = $1 AND recipient_id = $2
              AND coalesce(village_code, township_code) LIKE $3 || '%'
            ORDER BY created_at DESC LIMIT $4""",
        recipient_kind, recipient_id, scope_prefix, limit,
    )

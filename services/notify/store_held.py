"""SQL of what could not be delivered: routings that found no recipient (held_routings) and
messages on a channel without a provider (notifications in status 'held'). Both are listed
for county staff, counted for the metrics, and released once the missing piece exists."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Sequence
from uuid import UUID

import asyncpg


async def hold_routing(conn: asyncpg.Connection, *, source_event_id: UUID, audience: str, event_type: str,
                       event_data: dict[str, Any], child: Any, now: datetime) -> bool:
    """False when this (event, audience) is held already (a redelivered event)."""
    return bool(await conn.fetchval(
        """INSERT INTO held_routings (source_event_id, audience, event_type, event_data, reason, child_id,
                                      county_code, township_code, village_code, school_id, held_at)
           VALUES ($1, $2, $3, $4::text::jsonb, 'no_recipient', $5, $6, $7, $8, $9, $10)
           ON CONFLICT DO NOTHING RETURNING true""",
        source_event_id, audience, event_type, json.dumps(event_data), child["id"], child["county_code"],
        child["township_code"], child["village_code"], child["school_id"], now))


async def open_routings(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """The oldest held routings not yet released, locked for this pass (replicas skip them)."""
    return await conn.fetch(
        """SELECT * FROM held_routings WHERE released_at IS NULL ORDER BY held_at
            LIMIT $1 FOR UPDATE SKIP LOCKED""", limit)


async def release_routing(conn: asyncpg.Connection, source_event_id: UUID, audience: str, now: datetime,
                          notifications: int) -> None:
    await conn.execute(
        """UPDATE held_routings SET released_at = $3, notifications = $4
            WHERE source_event_id = $1 AND audience = $2""", source_event_id, audience, now, notifications)


async def hold_unprovided(conn: asyncpg.Connection, configured: Sequence[str], now: datetime) -> list[asyncpg.Record]:
    """Pending messages on a push channel with no provider become 'held' (no_provider)."""
    return await conn.fetch(
        """UPDATE notifications SET status = 'held', last_error = 'no_provider', updated_at = $2
            WHERE status = 'pending' AND channel <> 'in_app' AND NOT (channel = ANY($1::text[]))
            RETURNING id, channel""", list(configured), now)


async def release_provided(conn: asyncpg.Connection, configured: Sequence[str], now: datetime) -> int:
    """Held messages whose channel has a provider now go back to pending, due at once."""
    result = await conn.execute(
        """UPDATE notifications SET status = 'pending', last_error = NULL, next_attempt_at = $2, updated_at = $2
            WHERE status = 'held' AND channel = ANY($1::text[])""", list(configured), now)
    return int(result.split()[-1])


_LIST = """
    SELECT 'no_recipient' AS reason, 'routing' AS kind, h.event_type, h.audience, NULL::text AS channel,
           h.child_id, h.county_code, h.township_code, h.school_id, h.held_at AS since,
           h.source_event_id::text AS ref
      FROM held_routings h
     WHERE h.released_at IS NULL AND coalesce(h.village_code, h.township_code) LIKE $1 || '%'
    UNION ALL
    SELECT 'no_provider', 'message', n.event_type, n.recipient_kind, n.channel,
           n.child_id, n.county_code, n.township_code, NULL, n.updated_at, n.id::text
      FROM notifications n
     WHERE n.status = 'held' AND coalesce(n.village_code, n.township_code) LIKE $1 || '%'"""


async def list_undeliverable(conn: asyncpg.Connection, scope_prefix: str, *, offset: int,
                             limit: int) -> tuple[list[asyncpg.Record], int]:
    """What is waiting for a missing recipient or provider in scope, oldest first, and how many."""
    rows = await conn.fetch(f"SELECT * FROM ({_LIST}) u ORDER BY since, ref OFFSET $2 LIMIT $3",
                            scope_prefix, offset, limit)
    total = await conn.fetchval(f"SELECT count(*) FROM ({_LIST}) u", scope_prefix)
    return rows, total


async def undeliverable_counts(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """For the metric: how many are waiting, by reason and channel ('' for a routing)."""
    return await conn.fetch(
        """SELECT 'no_recipient' AS reason, '' AS channel, count(*) AS n FROM held_routings
            WHERE released_at IS NULL
           UNION ALL
           SELECT 'no_provider', channel, count(*) FROM notifications WHERE status = 'held' GROUP BY channel""")


async def undeliverable_in_scope(conn: asyncpg.Connection, scope_prefix: str) -> dict[str, int]:
    rows = await conn.fetch(f"SELECT reason, count(*) AS n FROM ({_LIST}) u GROUP BY reason", scope_prefix)
    return {row["reason"]: row["n"] for row in rows}

"""The `erasures` trail (shared migration 0210), the same in every service's database: one
row per child whose records a service erased when the county's retention period ended
(the registry's retention job, and every consumer of ChildErased). Counts of rows cleared
per table, never a value. Writing it twice for a child is a no-op, so a redelivered
ChildErased changes nothing."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Awaitable, Callable
from uuid import UUID

import asyncpg

from shared.contracts.envelope import Envelope
from shared.contracts.events import ChildErased

SYSTEM = "system:retention"


async def record(conn: asyncpg.Connection, child_id: UUID, *, action: str, counts: dict[str, Any],
                 erased_at: datetime, erased_by: str = SYSTEM) -> bool:
    """True when this is the child's first erasure here."""
    inserted = await conn.fetchval(
        """INSERT INTO erasures (child_id, action, counts, erased_by, erased_at) VALUES ($1, $2, $3::jsonb, $4, $5)
           ON CONFLICT (child_id) DO NOTHING RETURNING true""",
        child_id, action, json.dumps(counts), erased_by, erased_at)
    return bool(inserted)


async def erased(conn: asyncpg.Connection, child_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM erasures WHERE child_id = $1", child_id))


Eraser = Callable[[asyncpg.Connection, UUID], Awaitable[dict[str, int]]]


def handler(erase: Eraser) -> Callable[[asyncpg.Connection, Envelope[ChildErased]], Awaitable[None]]:
    """A service's ChildErased handler: its `erase` (what it holds about the child, cleared)
    and the trail row, in the consumer's transaction. The inbox absorbs a redelivery; a
    second ChildErased clears nothing more (erasers are idempotent) and keeps the first row.
    `erase` runs even when the trail has the child: a rebuild of a read model (reports) from
    offset 0 fills new tables that must be cleared again."""
    async def on_child_erased(conn: asyncpg.Connection, envelope: Envelope[ChildErased]) -> None:
        child_id = envelope.data.child_id
        counts = await erase(conn, child_id)
        await record(conn, child_id, action=envelope.data.action, counts=counts, erased_at=envelope.time)

    return on_child_erased

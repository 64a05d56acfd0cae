"""SQL for the registry's projection of pairings and the caregiver's view of their children.
Functions take a connection; callers own transactions.

A caregiver reaches a child only through a current pairing in this projection (started,
not ended) AND within the caregiver's jurisdiction: anything else is "not there".
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg

_CURRENT = "p.started_on IS NOT NULL AND p.ended_on IS NULL"
_SCOPE = "coalesce(c.village_code, c.township_code) LIKE $2 || '%'"


async def record_pairing_started(conn: asyncpg.Connection, *, pairing_id: UUID, child_id: UUID,
                                 caregiver_id: UUID, role: str, started_on: date) -> None:
    """Idempotent; a start arriving after its end fills in the start and keeps the end."""
    await conn.execute(
        """INSERT INTO caregiver_pairings (pairing_id, child_id, caregiver_id, role, started_on)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (pairing_id) DO UPDATE SET started_on = EXCLUDED.started_on, updated_at = now()
            WHERE caregiver_pairings.started_on IS NULL""",
        pairing_id, child_id, caregiver_id, role, started_on)


async def record_pairing_ended(conn: asyncpg.Connection, *, pairing_id: UUID, child_id: UUID,
                               caregiver_id: UUID, role: str, ended_on: date) -> None:
    """Idempotent; an end arriving before its start is kept, so the start never opens access."""
    await conn.execute(
        """INSERT INTO caregiver_pairings (pairing_id, child_id, caregiver_id, role, ended_on)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (pairing_id) DO UPDATE SET ended_on = EXCLUDED.ended_on, updated_at = now()""",
        pairing_id, child_id, caregiver_id, role, ended_on)


async def my_children(conn: asyncpg.Connection, caregiver_id: UUID, scope_prefix: str) -> list[asyncpg.Record]:
    """The records of the children this caregiver is paired with now, by name; with the
    pairing's role and start (the earliest, when paired twice)."""
    return await conn.fetch(
        f"""SELECT c.*, p.role AS pairing_role, p.started_on AS paired_since
              FROM children c
              JOIN LATERAL (SELECT role, started_on FROM caregiver_pairings p
                             WHERE p.child_id = c.id AND p.caregiver_id = $1 AND {_CURRENT}
                             ORDER BY (role = 'lead') DESC, started_on LIMIT 1) p ON true
             WHERE {_SCOPE}
             ORDER BY c.name, c.id""",
        caregiver_id, scope_prefix)


async def my_child(conn: asyncpg.Connection, caregiver_id: UUID, scope_prefix: str,
                   child_id: UUID) -> asyncpg.Record | None:
    """One child's record when this caregiver is paired with it now, else None."""
    return await conn.fetchrow(
        f"""SELECT c.*, p.role AS pairing_role, p.started_on AS paired_since
              FROM children c
              JOIN LATERAL (SELECT role, started_on FROM caregiver_pairings p
                             WHERE p.child_id = c.id AND p.caregiver_id = $1 AND {_CURRENT}
                             ORDER BY (role = 'lead') DESC, started_on LIMIT 1) p ON true
             WHERE {_SCOPE} AND c.id = $3""",
        caregiver_id, scope_prefix, child_id)

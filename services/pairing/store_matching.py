"""SQL for matching: what the solver needs, proposals and their items."""

from __future__ import annotations

from typing import Iterable
from uuid import UUID

import asyncpg

from services.pairing.store import in_scope
from shared.pagination import keyset_after


async def matchable_caregivers(conn: asyncpg.Connection, scope_prefix: str) -> list[asyncpg.Record]:
    """Active caregivers in scope with their load and their county's default for their kind."""
    return await conn.fetch(
        f"""SELECT g.id, g.kind, g.township_code, g.village_code, g.school_id, g.capacity_override,
                   d.capacity AS county_capacity, coalesce(l.load, 0) AS load
              FROM caregivers g
              LEFT JOIN capacity_defaults d ON d.county_code = g.county_code AND d.kind = g.kind
              LEFT JOIN (SELECT caregiver_id, count(*) AS load FROM pairings WHERE ended_on IS NULL
                          GROUP BY caregiver_id) l ON l.caregiver_id = g.id
             WHERE g.active AND {in_scope('g', '$1')}
             ORDER BY g.id""",
        scope_prefix)


async def insert_proposal(conn: asyncpg.Connection, *, proposal_id: UUID, jurisdiction: str, created_by: str,
                          children_considered: int, caregivers_considered: int, solve_ms: int,
                          items: Iterable[tuple[UUID, UUID, UUID, str, int]]) -> None:
    await conn.execute(
        """INSERT INTO proposals (id, jurisdiction, created_by, children_considered, caregivers_considered, solve_ms)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        proposal_id, jurisdiction, created_by, children_considered, caregivers_considered, solve_ms)
    await conn.copy_records_to_table(
        "proposal_items", records=items,
        columns=["proposal_id", "child_id", "caregiver_id", "match_level", "cost"])


async def get_proposal(conn: asyncpg.Connection, proposal_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT p.*, count(i.*) FILTER (WHERE i.status = 'proposed') AS open_items,
                  count(i.*) FILTER (WHERE i.status = 'accepted') AS accepted_items,
                  count(i.*) FILTER (WHERE i.status = 'refused') AS refused_items,
                  count(i.*) AS items
             FROM proposals p LEFT JOIN proposal_items i ON i.proposal_id = p.id
            WHERE p.id = $1 GROUP BY p.id""",
        proposal_id)


# A proposal's items: priority children first, then by place; their cursors hold these values.
ITEM_ORDER = (("c.priority", "desc"), ("c.township_code", "asc"), ("i.caregiver_id", "asc"), ("i.child_id", "asc"))


async def proposal_items(conn: asyncpg.Connection, proposal_id: UUID, *, limit: int | None = None,
                         after: tuple[bool, str, UUID, UUID] | None = None,
                         child_ids: list[UUID] | None = None) -> list[asyncpg.Record]:
    after_clause = keyset_after(ITEM_ORDER, ["$4", "$5", "$6", "$7"]) if after else "$4::bool IS NULL"
    return await conn.fetch(
        f"""SELECT i.*, c.priority, c.township_code, c.school_id AS child_school_id
             FROM proposal_items i JOIN children c ON c.id = i.child_id
            WHERE i.proposal_id = $1 AND ($2::uuid[] IS NULL OR i.child_id = ANY($2::uuid[])) AND {after_clause}
            ORDER BY c.priority DESC, c.township_code, i.caregiver_id, i.child_id
            LIMIT $3""",
        proposal_id, child_ids, limit, *(after or (None,)))


async def decide_item(conn: asyncpg.Connection, proposal_id: UUID, child_id: UUID, *, status: str,
                      refusal: str | None = None, pairing_id: UUID | None = None) -> None:
    await conn.execute(
        """UPDATE proposal_items SET status = $3, refusal = $4, pairing_id = $5, decided_at = now()
            WHERE proposal_id = $1 AND child_id = $2""",
        proposal_id, child_id, status, refusal, pairing_id)

"""SQL for pairings. Functions take a connection; callers own transactions."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg

from services.pairing.store import in_scope
from shared.pagination import keyset_after

PAIRING_COLUMNS = """p.id, p.child_id, p.caregiver_id, p.role, p.started_on, p.ended_on, p.end_reason,
    p.proposal_id, p.created_at, p.ended_at"""


async def insert_pairing(conn: asyncpg.Connection, *, pairing_id: UUID, child_id: UUID, caregiver_id: UUID,
                         role: str, started_on: date, created_by: str,
                         proposal_id: UUID | None = None) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO pairings AS p (id, child_id, caregiver_id, role, started_on, created_by, proposal_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {PAIRING_COLUMNS}""",
        pairing_id, child_id, caregiver_id, role, started_on, created_by, proposal_id)


async def active_pairings_of_child(conn: asyncpg.Connection, child_id: UUID) -> list[asyncpg.Record]:
    """With the caregiver's place, to decide which pairings a transfer ends."""
    return await conn.fetch(
        f"""SELECT {PAIRING_COLUMNS}, g.township_code AS caregiver_township, g.village_code AS caregiver_village,
                   g.school_id AS caregiver_school, g.active AS caregiver_active
              FROM pairings p JOIN caregivers g ON g.id = p.caregiver_id
             WHERE p.child_id = $1 AND p.ended_on IS NULL
             ORDER BY p.created_at FOR UPDATE OF p""",
        child_id)


async def active_pairings_of_caregiver(conn: asyncpg.Connection, caregiver_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {PAIRING_COLUMNS} FROM pairings p
             WHERE p.caregiver_id = $1 AND p.ended_on IS NULL ORDER BY p.created_at FOR UPDATE""",
        caregiver_id)


async def end_pairing(conn: asyncpg.Connection, pairing_id: UUID, *, reason: str, ended_on: date,
                      ended_by: str) -> asyncpg.Record | None:
    """Ends an active pairing; None when it had already ended."""
    return await conn.fetchrow(
        f"""UPDATE pairings p SET ended_on = $2, end_reason = $3, ended_by = $4, ended_at = now()
             WHERE id = $1 AND ended_on IS NULL RETURNING {PAIRING_COLUMNS}""",
        pairing_id, ended_on, reason, ended_by)


async def get_pairing(conn: asyncpg.Connection, pairing_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT {PAIRING_COLUMNS}, c.county_code, c.township_code, c.village_code, c.school_id, c.priority
              FROM pairings p JOIN children c ON c.id = p.child_id WHERE p.id = $1""",
        pairing_id)


async def child_has_lead(conn: asyncpg.Connection, child_id: UUID) -> bool:
    return bool(await conn.fetchval(
        "SELECT true FROM pairings WHERE child_id = $1 AND role = 'lead' AND ended_on IS NULL", child_id))


async def is_paired(conn: asyncpg.Connection, child_id: UUID, caregiver_id: UUID) -> bool:
    return bool(await conn.fetchval(
        "SELECT true FROM pairings WHERE child_id = $1 AND caregiver_id = $2 AND ended_on IS NULL",
        child_id, caregiver_id))


async def history_of_child(conn: asyncpg.Connection, child_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {PAIRING_COLUMNS}, g.kind AS caregiver_kind FROM pairings p
              JOIN caregivers g ON g.id = p.caregiver_id
             WHERE p.child_id = $1 ORDER BY p.started_on, p.created_at""",
        child_id)


async def pairings_of_caregiver(conn: asyncpg.Connection, caregiver_id: UUID, *,
                                include_ended: bool) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {PAIRING_COLUMNS}, c.township_code, c.village_code, c.school_id, c.age_band, c.status AS child_status
              FROM pairings p JOIN children c ON c.id = p.child_id
             WHERE p.caregiver_id = $1 AND ($2 OR p.ended_on IS NULL)
             ORDER BY p.ended_on IS NOT NULL, p.started_on DESC, p.created_at DESC""",
        caregiver_id, include_ended)


# The pairings list's order (the newest first); its cursors hold these values.
PAIRINGS_ORDER = (("p.started_on", "desc"), ("p.id", "asc"))


async def list_pairings(conn: asyncpg.Connection, scope_prefix: str, *, school_id: str | None,
                        caregiver_id: UUID | None, include_ended: bool, limit: int,
                        after: tuple[date, UUID] | None = None) -> list[asyncpg.Record]:
    """Pairings of the children in scope (and in a school, and of a caregiver, when given),
    the newest first, from after the keyset position `after`."""
    after_clause = keyset_after(PAIRINGS_ORDER, ["$6", "$7"]) if after else "$6::date IS NULL AND $7::uuid IS NULL"
    return await conn.fetch(
        f"""SELECT {PAIRING_COLUMNS}, c.township_code, c.village_code, c.school_id, c.age_band, c.status AS child_status
              FROM pairings p JOIN children c ON c.id = p.child_id
             WHERE {in_scope('c', '$1')} AND ($2::text IS NULL OR c.school_id = $2)
               AND ($3::uuid IS NULL OR p.caregiver_id = $3) AND ($4 OR p.ended_on IS NULL)
               AND {after_clause}
             ORDER BY p.started_on DESC, p.id
             LIMIT $5""",
        scope_prefix, school_id, caregiver_id, include_ended, limit, *(after or (None, None)))


# The unpaired queue's order (priority first, then the longest waiting); its cursors hold these values.
UNPAIRED_ORDER = (("c.priority", "desc"), ("c.first_seen_at", "asc"), ("c.id", "asc"))


async def unpaired_children(conn: asyncpg.Connection, scope_prefix: str, *, school_id: str | None = None,
                            limit: int | None = None, after: tuple[bool, datetime, UUID] | None = None,
                            ) -> list[asyncpg.Record]:
    """The work list: active children in scope with no active pairing, priority first,
    then the longest waiting; from after the keyset position `after`."""
    after_clause = keyset_after(UNPAIRED_ORDER, ["$4", "$5", "$6"]) if after else "$4::bool IS NULL"
    return await conn.fetch(
        f"""SELECT c.id, c.county_code, c.township_code, c.village_code, c.school_id, c.priority, c.age_band,
                   c.status, c.first_seen_at
              FROM children c
             WHERE c.status = 'active' AND {in_scope('c', '$1')}
               AND ($2::text IS NULL OR c.school_id = $2)
               AND NOT EXISTS (SELECT 1 FROM pairings p WHERE p.child_id = c.id AND p.ended_on IS NULL)
               AND {after_clause}
             ORDER BY c.priority DESC, c.first_seen_at, c.id
             LIMIT $3""",
        scope_prefix, school_id, limit, *(after or (None,)))

"""SQL for the child projection, caregivers and capacity defaults. Functions take a
connection; callers own transactions. (Pairings: store_pairings.py; proposals, support
and statistics: store_matching.py, store_support.py, store_stats.py.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping
from uuid import UUID

import asyncpg

from shared.contracts import ChildClosed, ChildRegistered, ChildReopened, ChildTransferred, ChildUpdated

ChildFacts = ChildRegistered | ChildUpdated | ChildTransferred | ChildClosed | ChildReopened

# Visible to staff whose scope prefix the child's or caregiver's deepest code starts with.
IN_SCOPE = "coalesce({t}.village_code, {t}.township_code) LIKE {p} || '%'"


def in_scope(table: str, param: str) -> str:
    return IN_SCOPE.format(t=table, p=param)


# -- children (the projection) -----------------------------------------------------------

async def upsert_child(conn: asyncpg.Connection, event: ChildFacts, effective_at: datetime) -> asyncpg.Record | None:
    """Writes the projection unless it already holds this record version or a newer one.
    Returns the row when it was written (None: a stale or repeated version). `effective_at`
    (the event's time) is when the version took effect: the history counts it from then."""
    return await conn.fetchrow(
        """INSERT INTO children (id, county_code, township_code, village_code, school_id, priority,
                                 age_band, status, record_version, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET
               county_code = EXCLUDED.county_code, township_code = EXCLUDED.township_code,
               village_code = EXCLUDED.village_code, school_id = EXCLUDED.school_id,
               priority = EXCLUDED.priority, age_band = EXCLUDED.age_band, status = EXCLUDED.status,
               record_version = EXCLUDED.record_version, updated_at = EXCLUDED.updated_at
           WHERE children.record_version < EXCLUDED.record_version
           RETURNING *""",
        event.child_id, event.jurisdiction.county_code, event.jurisdiction.township_code,
        event.jurisdiction.village_code, event.school_id, event.priority, event.age_band, event.status,
        event.record_version, effective_at,
    )


async def get_child(conn: asyncpg.Connection, child_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
    # FOR SHARE: a concurrent ChildClosed waits until this pairing is committed, then ends it.
    suffix = " FOR SHARE" if lock else ""
    return await conn.fetchrow("SELECT * FROM children WHERE id = $1" + suffix, child_id)


async def get_child_in_scope(conn: asyncpg.Connection, child_id: UUID, scope_prefix: str, *,
                             school_id: str | None = None) -> asyncpg.Record | None:
    """None outside the jurisdiction, or outside the school when one is given."""
    return await conn.fetchrow(
        f"SELECT * FROM children c WHERE id = $1 AND {in_scope('c', '$2')} AND ($3::text IS NULL OR school_id = $3)",
        child_id, scope_prefix, school_id)


# -- capacity defaults ---------------------------------------------------------------------

async def county_capacity_defaults(conn: asyncpg.Connection, county_code: str) -> dict[str, int]:
    rows = await conn.fetch("SELECT kind, capacity FROM capacity_defaults WHERE county_code = $1", county_code)
    return {row["kind"]: row["capacity"] for row in rows}


async def put_capacity_defaults(conn: asyncpg.Connection, county_code: str, capacities: Mapping[str, int],
                                by: str) -> None:
    await conn.executemany(
        """INSERT INTO capacity_defaults (county_code, kind, capacity, updated_by) VALUES ($1, $2, $3, $4)
           ON CONFLICT (county_code, kind) DO UPDATE
               SET capacity = EXCLUDED.capacity, updated_by = EXCLUDED.updated_by, updated_at = now()""",
        [(county_code, kind, capacity, by) for kind, capacity in capacities.items()])


async def bump_caregivers_using_default(conn: asyncpg.Connection, county_code: str,
                                        kinds: list[str]) -> list[asyncpg.Record]:
    """Caregivers whose capacity follows the county default for these kinds: their version
    goes up, since their effective capacity (which their events carry) changed."""
    return await conn.fetch(
        f"""UPDATE caregivers SET version = version + 1, updated_at = now()
             WHERE county_code = $1 AND kind = ANY($2::text[]) AND capacity_override IS NULL
            RETURNING {CAREGIVER_COLUMNS}""",
        county_code, kinds)


# -- caregivers ------------------------------------------------------------------------------

CAREGIVER_COLUMNS = """id, kind, county_code, township_code, village_code, school_id, capacity_override,
    name_enc, phone_enc, email_enc, wecom_enc, dingtalk_enc, channels, active, version, created_at, updated_at"""


async def insert_caregiver(conn: asyncpg.Connection, values: Mapping[str, Any]) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO caregivers (id, kind, county_code, township_code, village_code, school_id,
                                    capacity_override, name_enc, phone_enc, email_enc, wecom_enc,
                                    dingtalk_enc, channels, active, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
            RETURNING {CAREGIVER_COLUMNS}""",
        values["id"], values["kind"], values["county_code"], values["township_code"], values["village_code"],
        values["school_id"], values["capacity_override"], values["name_enc"], values["phone_enc"],
        values["email_enc"], values["wecom_enc"], values["dingtalk_enc"], list(values["channels"]),
        values["active"], values["created_by"])


async def get_caregiver(conn: asyncpg.Connection, caregiver_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
    # FOR UPDATE serialises every pairing of one caregiver: two requests for the last free
    # place cannot both count the same load.
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {CAREGIVER_COLUMNS} FROM caregivers WHERE id = $1" + suffix, caregiver_id)


async def caregiver_names_in_scope(conn: asyncpg.Connection, ids: list[UUID], scope_prefix: str,
                                  school_id: str | None) -> list[asyncpg.Record]:
    """Id and encrypted name of each of these caregivers in scope (and in the school, when given)."""
    return await conn.fetch(
        f"""SELECT g.id, g.name_enc FROM caregivers g
             WHERE g.id = ANY($1::uuid[]) AND {in_scope('g', '$2')} AND ($3::text IS NULL OR g.school_id = $3)""",
        ids, scope_prefix, school_id)


async def update_caregiver(conn: asyncpg.Connection, caregiver_id: UUID, expected_version: int,
                           changes: Mapping[str, Any]) -> asyncpg.Record | None:
    """Applies `changes` (column → value) if the row is still at `expected_version`."""
    allowed = {"kind", "county_code", "township_code", "village_code", "school_id", "capacity_override",
               "name_enc", "phone_enc", "email_enc", "wecom_enc", "dingtalk_enc", "channels", "active"}
    columns = [column for column in changes if column in allowed]
    assignments = ", ".join(f"{column} = ${index + 3}" for index, column in enumerate(columns))
    sets = f"{assignments}, " if assignments else ""
    return await conn.fetchrow(
        f"""UPDATE caregivers SET {sets}version = version + 1, updated_at = now()
             WHERE id = $1 AND version = $2 RETURNING {CAREGIVER_COLUMNS}""",
        caregiver_id, expected_version, *(changes[column] for column in columns))


async def caregiver_load(conn: asyncpg.Connection, caregiver_id: UUID) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM pairings WHERE caregiver_id = $1 AND ended_on IS NULL", caregiver_id)


async def list_caregivers(conn: asyncpg.Connection, scope_prefix: str, *, kind: str | None,
                          active: bool | None, school_id: str | None, limit: int,
                          after: tuple[str, datetime, UUID] | None = None) -> list[asyncpg.Record]:
    """Caregivers with their current load and the county default for their kind, by
    township then enrolment; from after the keyset position `after` (the `place` column,
    created_at, id)."""
    after_place, after_at, after_id = after or (None, None, None)
    return await conn.fetch(
        f"""SELECT g.id, g.kind, g.county_code, g.township_code, g.village_code, g.school_id, g.created_at,
                   coalesce(g.township_code, '') AS place,
                   g.capacity_override, g.channels, g.active, g.version, g.name_enc,
                   d.capacity AS county_capacity,
                   (SELECT count(*) FROM pairings p WHERE p.caregiver_id = g.id AND p.ended_on IS NULL) AS load
              FROM caregivers g
              LEFT JOIN capacity_defaults d ON d.county_code = g.county_code AND d.kind = g.kind
             WHERE {in_scope('g', '$1')}
               AND ($2::text IS NULL OR g.kind = $2) AND ($3::boolean IS NULL OR g.active = $3)
               AND ($4::text IS NULL OR g.school_id = $4)
               AND ($6::text IS NULL OR (coalesce(g.township_code, ''), g.created_at, g.id) > ($6, $7, $8::uuid))
             ORDER BY coalesce(g.township_code, ''), g.created_at, g.id
             LIMIT $5""",
        scope_prefix, kind, active, school_id, limit, after_place, after_at, after_id)

"""SQL for group activities, their attendees, the county's activity types and the
children's homes (留守儿童之家)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

# An activity or home lies in the caller's scope through its village or township code.
_IN_SCOPE = "coalesce(village_code, township_code) LIKE $1 || '%'"


async def activity_types(conn: asyncpg.Connection, county_code: str) -> list[asyncpg.Record]:
    """The county's types: its own rows, and the defaults it has not overridden."""
    return await conn.fetch(
        """SELECT DISTINCT ON (code) code, name, active, version, updated_by, updated_at,
                  CASE WHEN county_code = '' THEN 'default' ELSE county_code END AS defined_by
             FROM activity_types WHERE county_code IN ('', $1)
            ORDER BY code, county_code DESC""", county_code)


async def activity_type_row(conn: asyncpg.Connection, county_code: str, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM activity_types WHERE county_code = $1 AND code = $2 FOR UPDATE",
                               county_code, code)


async def put_activity_type(conn: asyncpg.Connection, *, county_code: str, code: str, name: str, active: bool,
                            by: str, at: datetime) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO activity_types (county_code, code, name, active, updated_by, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (county_code, code) DO UPDATE
              SET name = $3, active = $4, updated_by = $5, updated_at = $6, version = activity_types.version + 1
           RETURNING *""", county_code, code, name, active, by, at)


async def children_for_attendance(conn: asyncpg.Connection, child_ids: list[UUID]) -> dict[UUID, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT id, county_code, township_code, village_code, school_id, status FROM children WHERE id = ANY($1)",
        child_ids)
    return {row["id"]: row for row in rows}


async def get_activity(conn: asyncpg.Connection, activity_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM activities WHERE id = $1", activity_id)


async def insert_activity(conn: asyncpg.Connection, values: dict[str, Any], child_ids: list[UUID]) -> asyncpg.Record:
    columns = list(values)
    row = await conn.fetchrow(
        f"""INSERT INTO activities ({", ".join(columns)}) VALUES ({", ".join(f"${i + 1}" for i in range(len(columns)))})
            RETURNING *""", *values.values())
    await conn.execute(
        "INSERT INTO activity_attendees (activity_id, child_id) SELECT $1, unnest($2::uuid[])", row["id"], child_ids)
    return row


async def attendees(conn: asyncpg.Connection, activity_id: UUID) -> list[UUID]:
    return [row["child_id"] for row in await conn.fetch(
        "SELECT child_id FROM activity_attendees WHERE activity_id = $1 ORDER BY child_id", activity_id)]


async def list_activities(conn: asyncpg.Connection, *, scope_prefix: str, school_id: str | None,
                          activity_type: str | None, township_code: str | None, home_id: UUID | None,
                          child_id: UUID | None, held_from: date | None, held_to: date | None,
                          after: tuple[date, UUID] | None, limit: int) -> list[asyncpg.Record]:
    """Newest first, paged on (held_on, id) descending."""
    cursor_on, cursor_id = after or (date.max, UUID(int=(1 << 128) - 1))
    return await conn.fetch(
        f"""SELECT * FROM activities
            WHERE {_IN_SCOPE} AND ($2::text IS NULL OR school_id = $2) AND ($3::text IS NULL OR activity_type = $3)
              AND ($4::text IS NULL OR township_code = $4) AND ($5::uuid IS NULL OR home_id = $5)
              AND ($6::uuid IS NULL OR EXISTS (SELECT 1 FROM activity_attendees a
                                               WHERE a.activity_id = activities.id AND a.child_id = $6))
              AND ($7::date IS NULL OR held_on >= $7) AND ($8::date IS NULL OR held_on <= $8)
              AND (held_on, id) < ($9, $10)
            ORDER BY held_on DESC, id DESC LIMIT $11""",
        scope_prefix, school_id, activity_type, township_code, home_id, child_id, held_from, held_to,
        cursor_on, cursor_id, limit)


async def activity_totals(conn: asyncpg.Connection, *, scope_prefix: str, school_id: str | None,
                          held_from: date, held_to: date) -> list[asyncpg.Record]:
    """Per type and township: activities, registered children, others, guardians."""
    return await conn.fetch(
        f"""SELECT activity_type, township_code, count(*) AS activities,
                   sum(attendee_count) AS registered_children, sum(other_children) AS other_children,
                   sum(guardians) AS guardians, sum(others) AS others,
                   count(*) FILTER (WHERE home_id IS NOT NULL) AS home_sessions
              FROM activities
             WHERE {_IN_SCOPE} AND ($2::text IS NULL OR school_id = $2) AND held_on BETWEEN $3 AND $4
             GROUP BY activity_type, township_code""", scope_prefix, school_id, held_from, held_to)


async def children_reached(conn: asyncpg.Connection, *, scope_prefix: str, school_id: str | None,
                           held_from: date, held_to: date) -> int:
    """Distinct registry children who attended at least one activity in the period."""
    return int(await conn.fetchval(
        f"""SELECT count(DISTINCT a.child_id)
              FROM activity_attendees a JOIN activities ON activities.id = a.activity_id
             WHERE {_IN_SCOPE} AND ($2::text IS NULL OR school_id = $2) AND held_on BETWEEN $3 AND $4""",
        scope_prefix, school_id, held_from, held_to))


async def insert_home(conn: asyncpg.Connection, values: dict[str, Any]) -> asyncpg.Record:
    columns = list(values)
    return await conn.fetchrow(
        f"""INSERT INTO childrens_homes ({", ".join(columns)})
            VALUES ({", ".join(f"${i + 1}" for i in range(len(columns)))}) RETURNING *""", *values.values())


async def update_home(conn: asyncpg.Connection, home_id: UUID, values: dict[str, Any]) -> asyncpg.Record:
    sets = ", ".join(f"{column} = ${i + 2}" for i, column in enumerate(values))
    return await conn.fetchrow(
        f"UPDATE childrens_homes SET {sets}, version = version + 1 WHERE id = $1 RETURNING *",
        home_id, *values.values())


async def get_home(conn: asyncpg.Connection, home_id: UUID, scope_prefix: str, *,
                   for_update: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT * FROM childrens_homes WHERE id = $2 AND {_IN_SCOPE}
            {"FOR UPDATE" if for_update else ""}""", scope_prefix, home_id)


async def list_homes(conn: asyncpg.Connection, *, scope_prefix: str, township_code: str | None,
                     after: UUID | None, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT h.*, (SELECT count(*) FROM activities a WHERE a.home_id = h.id) AS sessions,
                   (SELECT max(held_on) FROM activities a WHERE a.home_id = h.id) AS last_session_on
              FROM childrens_homes h
             WHERE {_IN_SCOPE} AND ($2::text IS NULL OR township_code = $2) AND ($3::uuid IS NULL OR id > $3)
             ORDER BY id LIMIT $4""", scope_prefix, township_code, after, limit)


async def count_homes(conn: asyncpg.Connection, *, scope_prefix: str, township_code: str | None) -> int:
    return int(await conn.fetchval(
        f"SELECT count(*) FROM childrens_homes WHERE {_IN_SCOPE} AND ($2::text IS NULL OR township_code = $2)",
        scope_prefix, township_code))

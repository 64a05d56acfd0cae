"""SQL of the county setup check: where the children are (from the projection), who is
registered to receive escalations, who is on the roster. Codes and ids only."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def places(conn: asyncpg.Connection, scope_prefix: str) -> list[asyncpg.Record]:
    """Every (county, township, school) with a child in care in scope."""
    return await conn.fetch(
        """SELECT DISTINCT county_code, township_code, school_id FROM children
            WHERE status <> 'closed' AND coalesce(village_code, township_code) LIKE $1 || '%'
            ORDER BY county_code, township_code, school_id NULLS FIRST""", scope_prefix)


async def staff_levels(conn: asyncpg.Connection) -> set[tuple[str, str]]:
    """(level, where) of every active recipient: where is a school id, or a township or county code."""
    rows = await conn.fetch(
        """SELECT level, CASE WHEN level = 'school' THEN school_id ELSE jurisdiction END AS at
             FROM staff_recipients WHERE active""")
    return {(row["level"], row["at"]) for row in rows if row["at"]}


async def rostered(conn: asyncpg.Connection, codes: list[str], now: datetime) -> set[str]:
    """Which of these townships or counties have someone on the roster now or later."""
    rows = await conn.fetch(
        """SELECT DISTINCT d.jurisdiction FROM duty_roster d JOIN staff_recipients s ON s.id = d.recipient_id
            WHERE s.active AND d.jurisdiction = ANY($1::text[]) AND d.ends_at > $2""", codes, now)
    return {row["jurisdiction"] for row in rows}

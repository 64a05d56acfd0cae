"""SQL of statistics and completeness (建档率). Counts only; never a personal field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

_SCOPE = "coalesce(village_code, township_code) LIKE $1 || '%'"


def _school(n: int) -> str:
    """A school's staff count their school's children only (parameter $n; NULL: any)."""
    return f"(${n}::text IS NULL OR school_id = ${n})"
_AGE_BAND = """CASE WHEN a < 0 THEN 'unknown' WHEN a <= 5 THEN '0-5' WHEN a <= 11 THEN '6-11'
                    WHEN a <= 13 THEN '12-13' WHEN a <= 15 THEN '14-15' WHEN a <= 17 THEN '16-17'
                    ELSE '18+' END"""
# dimension → SQL producing the key (one row per child, or per category for categories)
DIMENSIONS = {
    "township": "township_code",
    "school": "coalesce(school_id, '')",
    "gender": "gender",
    "left_behind_type": "coalesce(left_behind_type, '')",
    "age_band": _AGE_BAND,
    "status": "status",
    "priority": "priority::text",
    # 在校状态: what 入学率 and 巩固率 are computed from (in_school among those of school age)
    "school_status": "coalesce(school_status, '')",
}


def _statuses(status: str | None) -> list[str]:
    # "current" children are those in care: active, or transferred to a new place.
    return {"current": ["active", "transferred"], None: ["active", "transferred"]}.get(
        status, [status] if status else [])


async def total(conn: asyncpg.Connection, scope_prefix: str, status: str | None, school: str | None = None) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM children WHERE {_SCOPE} AND {_school(3)} AND status = ANY($2)",
                               scope_prefix, _statuses(status), school)


async def counts_by(conn: asyncpg.Connection, scope_prefix: str, dimension: str,
                    status: str | None, school: str | None = None) -> list[dict[str, Any]]:
    if dimension == "category":
        rows = await conn.fetch(
            f"""SELECT c AS key, count(*) AS n FROM children, unnest(categories) AS c
                 WHERE {_SCOPE} AND {_school(3)} AND status = ANY($2) GROUP BY c ORDER BY c""",
            scope_prefix, _statuses(status), school)
    else:
        rows = await conn.fetch(
            f"""SELECT {DIMENSIONS[dimension]} AS key, count(*) AS n
                  FROM (SELECT *, date_part('year', age(current_date, birth_date))::int AS a FROM children
                         WHERE {_SCOPE} AND {_school(3)} AND status = ANY($2)) AS c
                 GROUP BY 1 ORDER BY 1""",
            scope_prefix, _statuses(status), school)
    return [{"key": row["key"] or None, "count": row["n"]} for row in rows]


async def sensitive_tokens(conn: asyncpg.Connection, scope_prefix: str, status: str | None,
                           school: str | None = None) -> list[asyncpg.Record]:
    """The encrypted sensitive categories in scope, decrypted by the caller (audited)."""
    return await conn.fetch(
        f"""SELECT id, sensitive_enc FROM children
             WHERE {_SCOPE} AND {_school(3)} AND status = ANY($2) AND sensitive_enc IS NOT NULL""",
        scope_prefix, _statuses(status), school)


async def set_expected(conn: asyncpg.Connection, *, kind: str, code: str, township_code: str, expected: int,
                       updated_by: str, recorded_at: datetime) -> None:
    await conn.execute(
        """INSERT INTO expected_counts (kind, code, township_code, expected, updated_by, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (kind, code) DO UPDATE SET township_code = EXCLUDED.township_code,
               expected = EXCLUDED.expected, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at""",
        kind, code, township_code, expected, updated_by, recorded_at)


async def expected_in_scope(conn: asyncpg.Connection, scope_prefix: str, *, limit: int,
                            after: tuple[str, str] | None = None) -> list[asyncpg.Record]:
    """By kind and code, from after the keyset position `after` (kind, code)."""
    after_kind, after_code = after or (None, None)
    return await conn.fetch(
        """SELECT kind, code, township_code, expected, updated_at FROM expected_counts
            WHERE township_code LIKE $1 || '%' AND ($3::text IS NULL OR (kind, code) > ($3, $4::text))
            ORDER BY kind, code LIMIT $2""", scope_prefix, limit, after_kind, after_code)


async def completeness(conn: asyncpg.Connection, scope_prefix: str, school: str | None = None) -> list[asyncpg.Record]:
    """Every configured township and school in scope with its registered (current) count;
    for a school's staff, their school's only."""
    return await conn.fetch(
        """SELECT e.kind, e.code, e.township_code, e.expected,
                   (SELECT count(*) FROM children c
                     WHERE c.status IN ('active', 'transferred')
                       AND CASE WHEN e.kind = 'township' THEN c.township_code = e.code
                                ELSE c.school_id = e.code AND c.township_code = e.township_code END
                   ) AS registered
              FROM expected_counts e
             WHERE e.township_code LIKE $1 || '%' AND ($2::text IS NULL OR (e.kind = 'school' AND e.code = $2))
             ORDER BY e.kind, e.code""",
        scope_prefix, school)


# -- as of a past date: the history tables (migration 0050) ---------------------------------
# A version counts as of an instant when it took effect before it and was not yet replaced.
_VALID_AT = "valid_from < $3 AND (valid_to IS NULL OR valid_to >= $3)"


async def first_recorded(conn: asyncpg.Connection) -> datetime | None:
    """When the registry recorded its first child (the history's start)."""
    return await conn.fetchval("SELECT min(valid_from) FROM child_history")


async def total_as_of(conn: asyncpg.Connection, scope_prefix: str, status: str | None, at: datetime,
                      school: str | None = None) -> int:
    return await conn.fetchval(
        f"SELECT count(*) FROM child_history WHERE {_SCOPE} AND {_school(4)} AND status = ANY($2) AND {_VALID_AT}",
        scope_prefix, _statuses(status), at, school)


async def counts_by_as_of(conn: asyncpg.Connection, scope_prefix: str, dimension: str, status: str | None,
                          at: datetime, day: date, school: str | None = None) -> list[dict[str, Any]]:
    """`counts_by` on the versions in effect at `at`; ages are taken on `day`."""
    if dimension == "category":
        rows = await conn.fetch(
            f"""SELECT c AS key, count(*) AS n FROM child_history, unnest(categories) AS c
                 WHERE {_SCOPE} AND {_school(4)} AND status = ANY($2) AND {_VALID_AT} GROUP BY c ORDER BY c""",
            scope_prefix, _statuses(status), at, school)
    else:
        rows = await conn.fetch(
            f"""SELECT {DIMENSIONS[dimension]} AS key, count(*) AS n
                  FROM (SELECT *, date_part('year', age($4::date, birth_date))::int AS a FROM child_history
                         WHERE {_SCOPE} AND {_school(5)} AND status = ANY($2) AND {_VALID_AT}) AS c
                 GROUP BY 1 ORDER BY 1""",
            scope_prefix, _statuses(status), at, day, school)
    return [{"key": row["key"] or None, "count": row["n"]} for row in rows]


async def completeness_as_of(conn: asyncpg.Connection, scope_prefix: str, at: datetime,
                             school: str | None = None) -> list[asyncpg.Record]:
    """`completeness` with the expected counts and the records in effect at `at`."""
    return await conn.fetch(
        """SELECT e.kind, e.code, e.township_code, e.expected,
                   (SELECT count(*) FROM child_history c
                     WHERE c.status IN ('active', 'transferred')
                       AND c.valid_from < $2 AND (c.valid_to IS NULL OR c.valid_to >= $2)
                       AND CASE WHEN e.kind = 'township' THEN c.township_code = e.code
                                ELSE c.school_id = e.code AND c.township_code = e.township_code END
                   ) AS registered
              FROM expected_count_history e
             WHERE e.township_code LIKE $1 || '%' AND ($3::text IS NULL OR (e.kind = 'school' AND e.code = $3))
               AND e.valid_from < $2 AND (e.valid_to IS NULL OR e.valid_to >= $2)
             ORDER BY e.kind, e.code""",
        scope_prefix, at, school)

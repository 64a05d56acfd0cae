"""SQL of statistics and completeness (建档率). Counts only; never a personal field."""

from __future__ import annotations

from typing import Any

import asyncpg

_SCOPE = "coalesce(village_code, township_code) LIKE $1 || '%'"
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


async def total(conn: asyncpg.Connection, scope_prefix: str, status: str | None) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM children WHERE {_SCOPE} AND status = ANY($2)",
                               scope_prefix, _statuses(status))


async def counts_by(conn: asyncpg.Connection, scope_prefix: str, dimension: str,
                    status: str | None) -> list[dict[str, Any]]:
    if dimension == "category":
        rows = await conn.fetch(
            f"""SELECT c AS key, count(*) AS n FROM children, unnest(categories) AS c
                 WHERE {_SCOPE} AND status = ANY($2) GROUP BY c ORDER BY c""",
            scope_prefix, _statuses(status))
    else:
        rows = await conn.fetch(
            f"""SELECT {DIMENSIONS[dimension]} AS key, count(*) AS n
                  FROM (SELECT *, date_part('year', age(current_date, birth_date))::int AS a FROM children
                         WHERE {_SCOPE} AND status = ANY($2)) AS c
                 GROUP BY 1 ORDER BY 1""",
            scope_prefix, _statuses(status))
    return [{"key": row["key"] or None, "count": row["n"]} for row in rows]


async def sensitive_tokens(conn: asyncpg.Connection, scope_prefix: str, status: str | None) -> list[asyncpg.Record]:
    """The encrypted sensitive categories in scope, decrypted by the caller (audited)."""
    return await conn.fetch(
        f"SELECT id, sensitive_enc FROM children WHERE {_SCOPE} AND status = ANY($2) AND sensitive_enc IS NOT NULL",
        scope_prefix, _statuses(status))


async def set_expected(conn: asyncpg.Connection, *, kind: str, code: str, township_code: str, expected: int,
                       updated_by: str) -> None:
    await conn.execute(
        """INSERT INTO expected_counts (kind, code, township_code, expected, updated_by) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (kind, code) DO UPDATE SET township_code = EXCLUDED.township_code,
               expected = EXCLUDED.expected, updated_by = EXCLUDED.updated_by, updated_at = now()""",
        kind, code, township_code, expected, updated_by)


async def expected_in_scope(conn: asyncpg.Connection, scope_prefix: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT kind, code, township_code, expected, updated_at FROM expected_counts"
        " WHERE township_code LIKE $1 || '%' ORDER BY kind, code", scope_prefix)


async def completeness(conn: asyncpg.Connection, scope_prefix: str) -> list[asyncpg.Record]:
    """Every configured township and school in scope with its registered (current) count."""
    return await conn.fetch(
        """SELECT e.kind, e.code, e.township_code, e.expected,
                   (SELECT count(*) FROM children c
                     WHERE c.status IN ('active', 'transferred')
                       AND CASE WHEN e.kind = 'township' THEN c.township_code = e.code
                                ELSE c.school_id = e.code AND c.township_code = e.township_code END
                   ) AS registered
              FROM expected_counts e
             WHERE e.township_code LIKE $1 || '%'
             ORDER BY e.kind, e.code""",
        scope_prefix)

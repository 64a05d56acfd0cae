"""SQL of the division register: loading an edition, reading the divisions under a code."""

from __future__ import annotations

import gzip
from pathlib import Path

import asyncpg

from services.registry.division_data import Edition

_FROM_PACKAGE_CODES = """
INSERT INTO divisions (edition, code, level, name, parent_code)
SELECT $1, rpad(code, 12, '0'),
       CASE length(code) WHEN 2 THEN 1 WHEN 4 THEN 2 WHEN 6 THEN 3 WHEN 9 THEN 4 ELSE 5 END,
       name,
       CASE length(code) WHEN 2 THEN NULL
            ELSE rpad(left(code, CASE length(code) WHEN 4 THEN 2 WHEN 6 THEN 4 WHEN 9 THEN 6 ELSE 9 END), 12, '0')
       END
FROM division_load
"""


async def load_edition(conn: asyncpg.Connection, edition: Edition) -> int:
    """Loads one edition file unless it is loaded already; returns the rows loaded (0 when
    it was there). One transaction: concurrent `migrate` runs wait on the edition's key,
    and the second finds it loaded."""
    async with conn.transaction():
        claimed = await conn.fetchval(
            "INSERT INTO division_editions (edition, source) VALUES ($1, $2) "
            "ON CONFLICT (edition) DO NOTHING RETURNING edition", edition.name, edition.source)
        if claimed is None:
            return 0
        await conn.execute("CREATE TEMPORARY TABLE division_load (code text, name text) ON COMMIT DROP")
        # PostgreSQL parses the CSV (the file's own code lengths) and derives the rest.
        await conn.copy_to_table("division_load", source=_decompressed(edition.path), format="csv", header=True)
        loaded = int((await conn.execute(_FROM_PACKAGE_CODES, edition.name)).split()[-1])
        await conn.execute("UPDATE division_editions SET divisions = $2 WHERE edition = $1", edition.name, loaded)
        return loaded


def _decompressed(path: Path) -> gzip.GzipFile:
    return gzip.open(path, "rb")


async def loaded_editions(conn: asyncpg.Connection) -> list[str]:
    return [row["edition"] for row in await conn.fetch("SELECT edition FROM division_editions ORDER BY edition")]


async def divisions_under(conn: asyncpg.Connection, prefix: str) -> list[asyncpg.Record]:
    """Every division, of every edition, whose code starts with `prefix` ('' for all of
    China), plus the levels above it, oldest edition first (a newer name overrides)."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "a"
    ancestors = [prefix[:end].ljust(12, "0") for end in (2, 4, 6, 9) if end < len(prefix)]
    return await conn.fetch(
        "SELECT edition, code, level, name FROM divisions "
        "WHERE (code >= $1 AND code < $2) OR code = ANY($3::text[]) ORDER BY edition, code",
        prefix, upper, ancestors)


async def load_shipped_editions(dsn: str) -> list[str]:
    """The `migrate` step's second half: every edition file the registry ships that the
    database does not hold yet is loaded. Returns the editions loaded now."""
    from services.registry.division_data import shipped_editions

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute("SET statement_timeout = 0")  # a whole edition is one COPY
        return [f"divisions {edition.name}" for edition in shipped_editions() if await load_edition(conn, edition)]
    finally:
        await conn.close()

"""SQL of the rebuild: a fresh copy of the read-model tables in a schema of its own, and
the switch that puts it in place of the tables answering now."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.reports.store import Insert

# The tables built from events. The assessment's weights are settings, not events: kept.
READ_MODEL_TABLES = ("child_versions", "caregiver_versions", "pairings", "contacts", "duties", "concerns",
                     "expected_counts", "activities", "support_given")
BUILD_SCHEMA = "reports_rebuild"
RETIRED_SCHEMA = "reports_retired"


async def create_build_tables(conn: asyncpg.Connection) -> None:
    """Empty copies of the read-model tables (columns, defaults, constraints, indexes)."""
    await conn.execute(f"DROP SCHEMA IF EXISTS {BUILD_SCHEMA} CASCADE")
    await conn.execute(f"CREATE SCHEMA {BUILD_SCHEMA}")
    for table in READ_MODEL_TABLES:
        await conn.execute(f"CREATE TABLE {BUILD_SCHEMA}.{table} (LIKE public.{table} INCLUDING ALL)")


async def write_to_build_tables(conn: asyncpg.Connection) -> None:
    """For the rest of the caller's transaction, the handlers' unqualified table names mean
    the build tables (the answering tables are not touched)."""
    await conn.execute(f"SET LOCAL search_path TO {BUILD_SCHEMA}, public")


async def analyze_build_tables(conn: asyncpg.Connection) -> None:
    """Statistics for the built tables before they answer (the planner's row estimates)."""
    for table in READ_MODEL_TABLES:
        await conn.execute(f"ANALYZE {BUILD_SCHEMA}.{table}")


async def lock_answering_tables(conn: asyncpg.Connection) -> None:
    """Holds the live worker's writes (and readers) until the switch commits."""
    await conn.execute(f"LOCK TABLE {', '.join(f'public.{t}' for t in READ_MODEL_TABLES)} IN ACCESS EXCLUSIVE MODE")


async def switch(conn: asyncpg.Connection) -> None:
    """The built tables take the answering tables' place; the old ones are dropped."""
    await conn.execute("SET LOCAL search_path TO public")
    await conn.execute(f"DROP SCHEMA IF EXISTS {RETIRED_SCHEMA} CASCADE")
    await conn.execute(f"CREATE SCHEMA {RETIRED_SCHEMA}")
    for table in READ_MODEL_TABLES:
        await conn.execute(f"ALTER TABLE public.{table} SET SCHEMA {RETIRED_SCHEMA}")
        await conn.execute(f"ALTER TABLE {BUILD_SCHEMA}.{table} SET SCHEMA public")
    # A table's extended statistics stay in the schema they were made in: they follow it.
    await _move_statistics(conn, "public", RETIRED_SCHEMA)
    await _move_statistics(conn, BUILD_SCHEMA, "public")
    await conn.execute(f"DROP SCHEMA {BUILD_SCHEMA}")
    await conn.execute(f"DROP SCHEMA {RETIRED_SCHEMA} CASCADE")


async def _move_statistics(conn: asyncpg.Connection, from_schema: str, to_schema: str) -> None:
    """The extended statistics in `from_schema` on the tables now in `to_schema`."""
    names = await conn.fetch(
        """SELECT s.stxname FROM pg_statistic_ext s
             JOIN pg_namespace n ON n.oid = s.stxnamespace
             JOIN pg_class t ON t.oid = s.stxrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
            WHERE n.nspname = $1 AND tn.nspname = $2 AND t.relname = ANY($3::text[])""",
        from_schema, to_schema, list(READ_MODEL_TABLES))
    for row in names:
        await conn.execute(f'ALTER STATISTICS {from_schema}."{row["stxname"]}" SET SCHEMA {to_schema}')


async def copy_run(conn: asyncpg.Connection, insert: Insert, rows: list[tuple[Any, ...]]) -> None:
    """A run of rows of one statement in one COPY straight into its table: what the
    statement does when every key is new (a fresh build, mostly). A key already there, or
    twice in the run, fails the COPY (unique violation); the caller then sends the run
    through `insert_run`, which applies the statement's conflict clause."""
    await conn.copy_records_to_table(insert.table, records=rows, columns=list(insert.columns))


async def insert_run(conn: asyncpg.Connection, insert: Insert, rows: list[tuple[Any, ...]]) -> None:
    """A run of rows of one statement in two round trips: COPY into a staging table, then
    one INSERT … SELECT with the statement's own conflict clause. An upsert whose key repeats
    in the run fails ("cannot affect row a second time"); the caller then sends it row by row."""
    staging = f"rebuild_staging_{insert.table}"
    await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE {insert.table} INCLUDING DEFAULTS)"
                       " ON COMMIT DELETE ROWS")
    await conn.copy_records_to_table(staging, records=rows, columns=list(insert.columns))
    await conn.execute(insert.from_table(staging))
    await conn.execute(f"TRUNCATE {staging}")

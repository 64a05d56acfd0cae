"""SQL of the rebuild: a fresh copy of the read-model tables in a schema of its own, and
the switch that puts it in place of the tables answering now."""

from __future__ import annotations

import asyncpg

# The tables built from events. The assessment's weights are settings, not events: kept.
READ_MODEL_TABLES = ("child_versions", "caregiver_versions", "pairings", "contacts", "duties", "concerns",
                     "expected_counts", "activities")
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
    await conn.execute(f"DROP SCHEMA {BUILD_SCHEMA}")
    await conn.execute(f"DROP SCHEMA {RETIRED_SCHEMA} CASCADE")

"""Forward-only numbered SQL migrations under an advisory lock.

Files are named NNNN_description.sql. The plumbing every service needs (outbox, inbox,
dead letters, idempotency keys) lives in shared/migrations and is applied first under the
component name "shared"; then the service's own folder under its name. Several `migrate`
processes may start at once (replicas, a retried Job): the advisory lock makes them take
turns, and the second finds nothing left to do. A file already applied whose content
changed is an error, because migrations are never edited after they ship.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x5348_4F55_4855  # "SHOUHU": one lock id for every service's migrate
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def discover(component: str, directory: Path) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNNN_description.sql")
        found.append(Migration(component, int(match.group(1)), path.name, path.read_text("utf-8")))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise MigrationError(f"{directory}: two migrations share a number")
    return found


async def migrate(dsn: str, component: str, directory: Path) -> list[str]:
    """Applies what is missing; returns the names applied now."""
    plan = discover("shared", SHARED_MIGRATIONS) + discover(component, directory)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            return await _apply(conn, plan)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()


async def _apply(conn: asyncpg.Connection, plan: list[Migration]) -> list[str]:
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               component text NOT NULL,
               version integer NOT NULL,
               name text NOT NULL,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now(),
               PRIMARY KEY (component, version))"""
    )
    rows = await conn.fetch("SELECT component, version, checksum FROM schema_migrations")
    applied = {(r["component"], r["version"]): r["checksum"] for r in rows}
    done = []
    for migration in plan:
        key = (migration.component, migration.version)
        if key in applied:
            if applied[key] != migration.checksum:
                raise MigrationError(f"{migration.component}/{migration.name} changed after it was applied")
            continue
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)",
                migration.component, migration.version, migration.name, migration.checksum,
            )
        done.append(f"{migration.component}/{migration.name}")
    return done

"""The migration runner on real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from shared.migrations import SHARED_MIGRATIONS, MigrationError, migrate
from tests.support.databases import create_database
from tests.support.plumbing import fetch


async def test_concurrent_migrates_take_turns_and_apply_each_file_once(infra, tmp_path) -> None:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE first (id int);")
    (tmp_path / "0002_second.sql").write_text("CREATE TABLE second (id int);")
    url = await create_database(infra, "migrations")
    results = await asyncio.gather(*(migrate(url, "demo", tmp_path) for _ in range(4)))
    applied = sorted(name for result in results for name in result)
    assert applied.count("demo/0001_first.sql") == 1 and applied.count("demo/0002_second.sql") == 1
    rows = await fetch(url, "SELECT component, version FROM schema_migrations ORDER BY component, version")
    shared = [("shared", int(path.name[:4])) for path in sorted(SHARED_MIGRATIONS.glob("*.sql"))]
    assert [(r["component"], r["version"]) for r in rows] == [("demo", 1), ("demo", 2), *shared]
    assert await migrate(url, "demo", tmp_path) == []


async def test_an_applied_migration_that_changed_is_an_error(infra, tmp_path) -> None:
    migration = tmp_path / "0001_first.sql"
    migration.write_text("CREATE TABLE first (id int);")
    url = await create_database(infra, "migrations")
    await migrate(url, "demo", tmp_path)
    migration.write_text("CREATE TABLE first (id bigint);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(url, "demo", tmp_path)


async def test_a_failing_migration_leaves_nothing_half_applied(infra, tmp_path) -> None:
    (tmp_path / "0001_broken.sql").write_text("CREATE TABLE ok (id int); SELECT no_such_function();")
    url = await create_database(infra, "migrations")
    with pytest.raises(Exception):
        await migrate(url, "demo", tmp_path)
    assert await fetch(url, "SELECT 1 FROM pg_tables WHERE tablename = 'ok'") == []

"""Throwaway databases, migrated like production: one per test module or per test."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from shared.migrations import migrate
from tests.support.infra import Infrastructure


async def create_database(infra: Infrastructure, label: str) -> str:
    name = f"t_{label}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(infra.pg_admin_url, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    infra.created_databases.append(name)
    return infra.database_url(name)


async def create_migrated_database(infra: Infrastructure, service: str, migrations_dir: Path) -> str:
    url = await create_database(infra, service)
    await migrate(url, service, migrations_dir)
    return url


async def drop_database(infra: Infrastructure, url: str) -> None:
    name = url.rpartition("/")[2]
    admin = await asyncpg.connect(infra.pg_admin_url, timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()

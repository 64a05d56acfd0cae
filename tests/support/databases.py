"""Throwaway databases, migrated like production: one per test module or per test."""

from __future__ import annotations

import importlib
import uuid
from pathlib import Path

import asyncpg

from shared.entrypoint import ServiceEntry, migrate_service
from shared.migrations import migrate
from tests.support.infra import Infrastructure


async def create_database(infra: Infrastructure, label: str, *, template: str | None = None) -> str:
    name = f"t_{label}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(infra.pg_admin_url, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await admin.close()
    infra.created_databases.append(name)
    return infra.database_url(name)


async def create_migrated_database(infra: Infrastructure, service: str, migrations_dir: Path) -> str:
    """Migrated as `migrate` does it: the SQL files, then the service's reference data
    when `migrations_dir` is the service's own (a copy of a per-session template)."""
    entry = _entry_with_reference_data(service, migrations_dir)
    if entry is None:
        url = await create_database(infra, service)
        await migrate(url, service, migrations_dir)
        return url
    template = infra.reference_templates.get(service)
    if template is None:
        template_url = await create_database(infra, f"{service}_template")
        await migrate_service(entry, template_url)
        template = infra.reference_templates[service] = template_url.rpartition("/")[2]
    return await create_database(infra, service, template=template)


def _entry_with_reference_data(service: str, migrations_dir: Path) -> ServiceEntry | None:
    try:
        entry = importlib.import_module(f"services.{service}.entry").ENTRY
    except ModuleNotFoundError:
        return None
    if entry.load_reference_data is None or Path(migrations_dir).resolve() != entry.migrations_dir.resolve():
        return None
    return entry


async def drop_database(infra: Infrastructure, url: str) -> None:
    name = url.rpartition("/")[2]
    admin = await asyncpg.connect(infra.pg_admin_url, timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()

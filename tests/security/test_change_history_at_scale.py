"""change_history keeps its shape at a county's scale: a statement that inserts many rows (a
sheet's COPY) writes one history row per record, as the row-level trigger did, from one
statement-level trigger; and a record whose place is another table's row finds that row
through its primary key, not by reading the whole table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import AsyncIterator

import asyncpg
import pytest_asyncio

from tests.support.databases import create_migrated_database, drop_database

REGISTRY_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "registry" / "migrations"
BOOKKEEPING = {"version", "updated_at", "heartbeat_at"}
VILLAGE = "520424100200"

INSERT_CHILDREN = """
INSERT INTO children (id, name, search_text, gender, birth_date, county_code, township_code, village_code,
                      created_by)
SELECT gen_random_uuid(), '孩子' || g, 'haizi' || g, 'female', date '2015-03-01', '520424000000',
       '520424100000', $2, 'test'
  FROM generate_series(1, $1) AS g
"""


@pytest_asyncio.fixture(loop_scope="session")
async def registry_db(infra) -> AsyncIterator[asyncpg.Connection]:
    url = await create_migrated_database(infra, "registry", REGISTRY_MIGRATIONS)
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()
        await drop_database(infra, url)


async def test_a_many_row_insert_is_recorded_once_per_record_with_the_actor(registry_db) -> None:
    conn = registry_db
    columns = {row["attname"] for row in await conn.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'children'::regclass AND attnum > 0 AND NOT attisdropped")}
    actor = {"subject": "clerk-1", "roles": ["township_staff"], "jurisdiction": "520424100000", "request_id": "r-1"}
    async with conn.transaction():
        await conn.execute("SELECT set_config('shouhu.actor', $1, true)", json.dumps(actor))
        await conn.execute(INSERT_CHILDREN, 500, VILLAGE)
    history = await conn.fetch("SELECT * FROM change_history WHERE record_kind = 'child' ORDER BY id")
    children = {str(row["id"]) for row in await conn.fetch("SELECT id FROM children")}
    assert len(history) == 500 and {row["record_id"] for row in history} == children
    for row in history:
        assert row["operation"] == "insert"
        assert row["fields"] == sorted(columns - BOOKKEEPING)
        assert row["jurisdiction"] == VILLAGE
        assert (row["actor_subject"], row["actor_roles"], row["actor_jurisdiction"], row["request_id"]) == (
            "clerk-1", ["township_staff"], "520424100000", "r-1")
    # child_history has every new record's first version, open-ended.
    assert await conn.fetchval("SELECT count(*) FROM child_history WHERE valid_to IS NULL") == 500

    # Updates and deletes are still recorded row by row, with the fields that changed.
    await conn.execute("UPDATE children SET grade = '三年级' WHERE id = (SELECT id FROM children LIMIT 1)")
    update = await conn.fetchrow("SELECT operation, fields, actor_subject FROM change_history ORDER BY id DESC LIMIT 1")
    assert (update["operation"], update["fields"], update["actor_subject"]) == ("update", ["grade"], "system")


async def test_a_record_placed_through_another_table_finds_it_by_its_key(registry_db) -> None:
    conn = registry_db
    await conn.execute(INSERT_CHILDREN, 3000, VILLAGE)
    await conn.execute("ANALYZE children")
    # Taken from the history, not from children: the statistics below must count only the notes' scans.
    child_id = await conn.fetchval("SELECT record_id::uuid FROM change_history WHERE record_kind = 'child' LIMIT 1")
    async with conn.transaction():
        for area in ("study", "health"):
            await conn.execute(
                "INSERT INTO growth_notes (id, child_id, noted_on, area, note_enc, author)"
                " VALUES (gen_random_uuid(), $1, date '2026-03-01', $2, 'sealed', 'teacher')", child_id, area)
        await conn.execute("UPDATE growth_notes SET area = 'other' WHERE child_id = $1 AND area = 'study'", child_id)
        # This transaction's scans of children: by index only (a whole-table read per note was the defect).
        scans = await conn.fetchrow(
            "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'children'")
    assert scans["seq_scan"] == 0 and scans["idx_scan"] >= 3
    notes = await conn.fetch(
        "SELECT operation, jurisdiction FROM change_history WHERE record_kind = 'growth_note' ORDER BY id")
    assert [(row["operation"], row["jurisdiction"]) for row in notes] == [
        ("insert", VILLAGE), ("insert", VILLAGE), ("update", VILLAGE)]

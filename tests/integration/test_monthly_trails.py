"""change_history and read_audit by month (shared migration 0211, shared/partitions.py): the
conversion keeps every existing row, its id and its append-only rule; the housekeeping
creates the coming months' partitions from the clock, and a row of a new month lands in its
own; a record's history still reads through an index, and a time window reads only its
months."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest

import shared.migrations
from shared.audit import history_page
from shared.partitions import drop_months_before, ensure_months, months_to_cover, partitions
from shared.settings import ServiceSettings
from tests.support.databases import create_database, drop_database

PAIRING = Path(__file__).resolve().parents[2] / "services" / "pairing" / "migrations"


async def _migrated_before_partitions(infra, tmp_path: Path, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    """A database as it was before 0211: the shared migrations below it, then pairing's."""
    earlier = tmp_path / "shared"
    earlier.mkdir()
    for path in sorted(shared.migrations.SHARED_MIGRATIONS.glob("*.sql")):
        if path.name < "0211":
            shutil.copy(path, earlier / path.name)
    url = await create_database(infra, "trails")
    with monkeypatch.context() as patch:
        patch.setattr(shared.migrations, "SHARED_MIGRATIONS", earlier)
        await shared.migrations.migrate(url, "pairing", PAIRING)
    return url


async def _change(conn: asyncpg.Connection, record_id: str, at: datetime) -> int:
    return await conn.fetchval(
        """INSERT INTO change_history (record_kind, record_id, operation, fields, jurisdiction, actor_subject,
                                       actor_roles, changed_at)
           VALUES ('caregiver', $1, 'update', '{name_enc}', '330102001000', 'staff-1', '{county_staff}', $2)
           RETURNING id""", record_id, at)


async def test_conversion_keeps_rows_and_new_months_get_partitions(infra, tmp_path, monkeypatch) -> None:
    url = await _migrated_before_partitions(infra, tmp_path, monkeypatch)
    conn = await asyncpg.connect(url)
    try:
        database_now = await conn.fetchval("SELECT now()")
        before = {}
        for age_days in (400, 35, 0):
            record_id = f"c{age_days}"
            before[await _change(conn, record_id, database_now - timedelta(days=age_days))] = record_id
        await conn.execute("""INSERT INTO read_audit (subject, roles, action, record_kind, record_ids, fields, purpose,
                                                      read_at)
                              VALUES ('s', '{county_staff}', 'read', 'caregiver', '{}', '{phone}', 'p', $1)""",
                           database_now - timedelta(days=400))
        assert await conn.fetchval("SELECT count(*) FROM pg_inherits WHERE inhparent = 'change_history'::regclass") == 0

        await shared.migrations.migrate(url, "pairing", PAIRING)  # now with 0211

        rows = await conn.fetch("SELECT id, record_id, tableoid::regclass::text AS part FROM change_history")
        assert {row["id"]: row["record_id"] for row in rows} == before
        oldest = database_now - timedelta(days=400)
        assert {row["part"] for row in rows if row["record_id"] == "c400"} == {
            f"change_history_{oldest.astimezone(timezone.utc):%Y%m}"}
        assert await conn.fetchval("SELECT count(*) FROM read_audit") == 1
        assert await conn.fetchval("SELECT tableoid::regclass::text FROM read_audit") != "read_audit_default"
        # Still append-only, and ids keep increasing from the same sequence.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE change_history SET fields = '{}'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM read_audit")
        assert await _change(conn, "after", database_now) > max(before)

        # The housekeeping, with the services' clock 14 months ahead: those months are made.
        ahead = database_now + timedelta(days=14 * 31)
        created = await ensure_months(conn, ahead)
        month = f"{ahead.astimezone(timezone.utc):%Y%m}"
        assert f"change_history_{month}" in created and f"read_audit_{month}" in created
        assert f"change_history_{month}" in await partitions(conn, "change_history")
        assert await ensure_months(conn, ahead) == []  # again: nothing to do
        new_id = await _change(conn, "future", ahead)
        assert await conn.fetchval("SELECT tableoid::regclass::text FROM change_history WHERE id = $1",
                                   new_id) == f"change_history_{month}"

        # A record's history reads through the record index; a month reads one partition.
        await conn.execute("ANALYZE change_history")
        assert [row["record_id"] for row in await history_page(
            conn, record_kind="caregiver", record_id="c35", scope_prefix="3301", after_id=0, limit=10)] == ["c35"]
        await conn.execute("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in await conn.fetch(
            """EXPLAIN SELECT id FROM change_history WHERE record_kind = 'caregiver' AND record_id = 'c35' AND id > 0
                ORDER BY id LIMIT 10"""))
        assert "change_history_record" in plan or "Index" in plan, plan
        first = ahead.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        window = "\n".join(row[0] for row in await conn.fetch(
            "EXPLAIN SELECT count(*) FROM change_history WHERE changed_at >= $1 AND changed_at < $1 + interval '1 day'",
            first))
        assert f"change_history_{month}" in window
        assert "change_history_default" not in window and f"change_history_{oldest:%Y%m}" not in window
    finally:
        await conn.close()
        await drop_database(infra, url)


async def test_months_past_the_retention_are_dropped_whole_and_the_rest_stay(infra) -> None:
    url = await create_database(infra, "trails")
    await shared.migrations.migrate(url, "pairing", PAIRING)
    conn = await asyncpg.connect(url)
    try:
        database_now = (await conn.fetchval("SELECT now()")).astimezone(timezone.utc)
        this_month = database_now.replace(day=15, hour=12, minute=0, second=0, microsecond=0)

        def months_ago(n: int) -> datetime:
            months = this_month.year * 12 + this_month.month - 1 - n
            return this_month.replace(year=months // 12, month=months % 12 + 1)

        for age in (40, 37, 36, 2):
            await conn.fetchval("SELECT shouhu_ensure_month('change_history', $1)", months_ago(age).date())
            await conn.fetchval("SELECT shouhu_ensure_month('read_audit', $1)", months_ago(age).date())
            await _change(conn, f"m{age}", months_ago(age))
        await _change(conn, "now", database_now)

        dropped = await drop_months_before(conn, 36)
        gone = {f"{table}_{months_ago(age):%Y%m}" for table in ("change_history", "read_audit") for age in (40, 37)}
        assert set(dropped) == gone
        left = set(await partitions(conn, "change_history")) | set(await partitions(conn, "read_audit"))
        assert not gone & left
        # The 36th month back is whole months within the window: it stays, as do the recent ones.
        assert {f"change_history_{months_ago(36):%Y%m}", f"change_history_{months_ago(2):%Y%m}",
                "change_history_default"} <= left
        assert sorted(r["record_id"] for r in await conn.fetch("SELECT record_id FROM change_history")) == \
            ["m2", "m36", "now"]
        assert await drop_months_before(conn, 36) == []  # again: nothing to do
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # still append-only row by row
            await conn.execute("DELETE FROM change_history")
    finally:
        await conn.close()
        await drop_database(infra, url)


def test_a_trail_retention_below_six_months_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("SHOUHU_TRAIL_RETENTION_MONTHS", "5")
    with pytest.raises(ValueError, match="trail_retention_months"):
        ServiceSettings()
    monkeypatch.setenv("SHOUHU_TRAIL_RETENTION_MONTHS", "36")
    assert ServiceSettings().trail_retention_months == 36


def test_months_to_cover_follow_both_clocks() -> None:
    database_now = datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc)
    clock_now = datetime(2027, 1, 15, tzinfo=timezone.utc)
    assert [f"{m:%Y%m}" for m in months_to_cover(database_now, clock_now, ahead=2)] == [
        "202611", "202612", "202701", "202702", "202703"]

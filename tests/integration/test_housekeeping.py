"""`shouhu prune` keeps each plumbing table's documented window (shared/housekeeping.py), in
elapsed time on the database's clock even when the services' clock runs a year ahead, and
`shouhu dead-letters SERVICE resolve|discard ID --reason` closes an open dead letter,
recording who and why."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg

from tests.support.databases import create_migrated_database, drop_database
from tests.support.processes import REPO

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "pairing" / "migrations"

def _cli(url: str, *args: str) -> subprocess.CompletedProcess:
    # The services' clock a year ahead: retention must not take it for elapsed time.
    env = {"PATH": "/usr/bin:/bin", "SHOUHU_PAIRING_DATABASE_URL": url, "SHOUHU_CLOCK_OFFSET": "400d",
           "USER": "duty-officer"}
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)


async def _outbox(conn: asyncpg.Connection, status: str, age: timedelta) -> uuid.UUID:
    event_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload, status, created_at,
                               published_at)
           VALUES ($1, 't', 'k', 'e', '{}', '{}', $2, now() - $3::interval,
                   CASE WHEN $2 = 'published' THEN now() - $3::interval END)""",
        event_id, status, age)
    return event_id


async def _dead_letter(conn: asyncpg.Connection, status: str, age: timedelta) -> int:
    return await conn.fetchval(
        """INSERT INTO dead_letters (consumer, topic, kafka_partition, kafka_offset, headers, payload, kind, reason,
                                     attempts, status, created_at, resolved_at)
           VALUES ('c', 't', 0, nextval('dead_letters_id_seq'), '{}', '\\x00', 'poison', 'r', 5, $1,
                   now() - $2::interval, CASE WHEN $1 <> 'open' THEN now() - $2::interval END) RETURNING id""",
        status, age)


async def test_prune_keeps_each_window_and_dead_letters_are_closed_on_record(infra) -> None:
    url = await create_migrated_database(infra, "pairing", MIGRATIONS)
    conn = await asyncpg.connect(url)
    started = await conn.fetchval("SELECT now()")
    try:
        old_published = await _outbox(conn, "published", timedelta(days=8))
        kept = {await _outbox(conn, "published", timedelta(days=6)), await _outbox(conn, "pending", timedelta(days=90))}
        for consumer, age in (("old", 31), ("recent", 29)):
            await conn.execute("INSERT INTO inbox (consumer, event_id, event_type, processed_at)"
                               " VALUES ($1, $2, 'e', now() - $3::interval)", consumer, uuid.uuid4(), timedelta(days=age))
        for key, age in (("old", 8), ("recent", 6)):
            await conn.execute("""INSERT INTO idempotency_keys (principal, idem_key, request_hash, status_code,
                                                                 response, created_at)
                                    VALUES ('p', $1, 'h', 201, '{}', now() - $2::interval)""",
                               key, timedelta(days=age))
        closed_long_ago = await _dead_letter(conn, "resolved", timedelta(days=91))
        open_old = await _dead_letter(conn, "open", timedelta(days=200))
        open_new = await _dead_letter(conn, "open", timedelta(days=1))

        pruned = _cli(url, "prune", "pairing")
        assert pruned.returncode == 0, pruned.stderr
        assert json.loads(pruned.stdout.strip().splitlines()[-1])["deleted"] == {
            "outbox": 1, "inbox": 1, "idempotency_keys": 1, "dead_letters": 1}
        assert {r["event_id"] for r in await conn.fetch("SELECT event_id FROM outbox")} == kept
        assert old_published not in kept
        assert [r["consumer"] for r in await conn.fetch("SELECT consumer FROM inbox")] == ["recent"]
        assert [r["idem_key"] for r in await conn.fetch("SELECT idem_key FROM idempotency_keys")] == ["recent"]
        assert {r["id"] for r in await conn.fetch("SELECT id FROM dead_letters")} == {open_old, open_new}
        assert closed_long_ago not in {open_old, open_new}

        assert _cli(url, "dead-letters", "pairing", "discard", str(open_old)).returncode == 2  # no reason
        discarded = _cli(url, "dead-letters", "pairing", "discard", str(open_old), "--reason", "test event, sent by mistake")
        assert discarded.returncode == 0 and "discarded" in discarded.stdout, discarded.stderr
        resolved = _cli(url, "dead-letters", "pairing", "resolve", str(open_new), "--reason", "applied by hand",
                        "--by", "county-ops")
        assert resolved.returncode == 0, resolved.stderr
        assert _cli(url, "dead-letters", "pairing", "resolve", str(open_new), "--reason", "again").returncode == 1
        rows = {r["id"]: r for r in await conn.fetch("SELECT * FROM dead_letters")}
        assert (rows[open_old]["status"], rows[open_old]["decided_by"]) == ("discarded", "duty-officer")
        assert rows[open_old]["decision_reason"] == "test event, sent by mistake"
        assert (rows[open_new]["status"], rows[open_new]["decided_by"]) == ("resolved", "county-ops")
        assert rows[open_new]["resolved_at"] >= started
        listed = _cli(url, "dead-letters", "pairing")
        assert listed.returncode == 0 and listed.stdout.strip() == ""  # nothing open any more
    finally:
        await conn.close()
        await drop_database(infra, url)

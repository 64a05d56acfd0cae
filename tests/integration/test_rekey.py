"""Re-encryption under the current key (shared/rekey.py, `shouhu rekey`) on real PostgreSQL,
with the services' real migrations and the services' own code sealing the values."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import asyncpg
import pytest

from services.registry.card_edits import entry_ids
from services.notify.encrypted_columns import STAFF_CONTACTS, WEBHOOK_SECRET, WEBHOOK_URL
from services.pairing import api_caregivers
from services.pairing.encrypted_columns import SUPPORT_GIVEN_BY
from services.registry import privacy, store
from services.registry.domain import NewChild
from services.registry.encrypted_columns import GROWTH_NOTE
from shared import cli
from shared.contracts import Jurisdiction
from shared.crypto import FieldCipher
from shared.rekey import (
    UNRECOGNISED, ColumnCounts, EncryptedColumn, count_by_key, reencrypt_rows, rekey, replace_if_unchanged, stale_batch,
)
from tests.support.databases import create_database, create_migrated_database

# The current key's id has a "_", which a LIKE pattern would take as "any character": a
# value under the old key "k-2026" must still be seen as not current.
OLD, NEW, GONE = "k-2026", "k_2026", "k-gone"
KEYS = {OLD: b"\x01" * 32, NEW: b"\x02" * 32, GONE: b"\x03" * 32}
INDEX_KEY = b"\x09" * 32
REPO = Path(__file__).resolve().parents[2]


def cipher(*key_ids: str, current: str) -> FieldCipher:
    return FieldCipher(keys={k: KEYS[k] for k in key_ids}, current_key_id=current, index_key=INDEX_KEY)


BEFORE = cipher(OLD, current=OLD)  # what the services wrote with until the rotation
ROTATED = cipher(NEW, OLD, current=NEW)  # the settings during re-encryption
AFTER = cipher(NEW, current=NEW)  # the old key removed
J = Jurisdiction(county_code="330102000000", township_code="330102001000")


def migrations(service: str) -> Path:
    return REPO / "services" / service / "migrations"


async def connect(url: str) -> asyncpg.Connection:
    """A connection that reads jsonb as the services' pools do (shared/db.py)."""
    conn = await asyncpg.connect(url)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    return conn


def child(n: int, **fields) -> NewChild:  # type: ignore[no-untyped-def]
    return NewChild(id=uuid.uuid4(), name=f"孩子{n}", gender="female", birth_date=date(2015, 1, n + 1),
                    jurisdiction=J, school_id=None, categories=(), priority=False, **fields)


def full(n: int) -> NewChild:
    """Every encrypted field filled in (the national ID is unique per child)."""
    return child(n, national_id=f"1101051949123100{n}X", address="某县某镇某村1号", sensitive_categories=("disability",),
                 priority_reason="独居", guardians=({"name": "王奶奶", "phone": "13812345678"},),
                 parents=({"relation": "father", "phone": "13987654321"},))


async def insert_children(conn: asyncpg.Connection, children: list[NewChild], sealer: FieldCipher) -> None:
    for c in children:
        await store.insert_child(conn, store.child_values(c, privacy.seal(c, sealer), "", source="api",
                                                          created_by="test", recorded_at=datetime.now(timezone.utc)))


async def insert_note(conn: asyncpg.Connection, child_id: uuid.UUID, text: str, sealer: FieldCipher) -> uuid.UUID:
    note_id = uuid.uuid4()
    await conn.execute("INSERT INTO growth_notes (id, child_id, noted_on, area, note_enc, author) "
                       "VALUES ($1, $2, $3, 'study', $4, 'test')",
                       note_id, child_id, date(2026, 3, 1), sealer.encrypt(text, context=GROWTH_NOTE.context(note_id)))
    return note_id


async def stored(conn: asyncpg.Connection, column: EncryptedColumn) -> dict[object, str]:
    rows = await conn.fetch(f'SELECT id, "{column.column}" AS v FROM "{column.table}" WHERE "{column.column}" IS NOT NULL')
    return {r["id"]: r["v"] for r in rows}


def summary(result: dict[str, ColumnCounts]) -> dict[str, tuple[int, int, int]]:
    return {label: (c.reencrypted, c.failed, c.changed_concurrently) for label, c in result.items()}


async def test_registry_values_move_to_the_current_key_and_open_with_it_alone(infra) -> None:
    from services.registry.entry import ENTRY

    url = await create_migrated_database(infra, "registry", migrations("registry"))
    children = [full(1), child(2, address="另一个地址"), child(3), full(4), full(5)]
    conn = await connect(url)
    try:
        await insert_children(conn, children, BEFORE)
        notes = {await insert_note(conn, c.id, f"第{i}条记录", BEFORE): f"第{i}条记录" for i, c in enumerate(children)}

        # Batches of 2 walk every table over several pages.
        result = await rekey(conn, ROTATED, ENTRY.encrypted_columns, batch_size=2)

        assert summary(result) == {
            "children.national_id_enc": (3, 0, 0), "children.address_enc": (4, 0, 0),
            "children.sensitive_enc": (3, 0, 0), "children.priority_reason_enc": (3, 0, 0),
            "children.contact_card_enc": (3, 0, 0), "children.particulars_enc": (0, 0, 0),
            "growth_notes.note_enc": (5, 0, 0), "import_changes.changes_enc": (0, 0, 0)}
        for column in ENTRY.encrypted_columns:
            assert all(v.startswith(f"v1.{NEW}.") for v in (await stored(conn, column)).values()), column.label
        # Opened by the registry's own code with the new key only: the contexts were kept.
        for c in children:
            row = await conn.fetchrow("SELECT * FROM children WHERE id = $1", c.id)
            # Opening gives each guardian and parent entry its stable id (edits name entries by it).
            assert privacy.open_record(row, AFTER) == dataclasses.replace(
                c, guardians=entry_ids(c.id, "guardians", c.guardians), parents=entry_ids(c.id, "parents", c.parents))
        for note_id, text in notes.items():
            token = await conn.fetchval("SELECT note_enc FROM growth_notes WHERE id = $1", note_id)
            assert AFTER.decrypt(token, context=f"growth_notes.note:{note_id}") == text

        counts = await count_by_key(conn, ENTRY.encrypted_columns)
        assert counts["children.address_enc"] == {NEW: 4} and counts["growth_notes.note_enc"] == {NEW: 5}
        assert all(set(per_key) <= {NEW} for per_key in counts.values())  # no value left under the old key

        again = await rekey(conn, ROTATED, ENTRY.encrypted_columns, batch_size=2)
        assert all(c == (0, 0, 0) for c in summary(again).values())
    finally:
        await conn.close()


async def test_pairing_values_move_to_the_current_key(infra) -> None:
    from services.pairing.entry import ENTRY

    url = await create_migrated_database(infra, "pairing", migrations("pairing"))
    conn = await asyncpg.connect(url)
    try:
        caregivers = {}
        for n in range(3):
            caregiver_id = uuid.uuid4()
            clear = {"name_enc": f"志愿者{n}", "phone_enc": f"1381234567{n}", "email_enc": None,
                     "wecom_enc": f"wecom{n}" if n else None, "dingtalk_enc": None}
            sealed = {col: api_caregivers._encrypt(BEFORE, caregiver_id, col, v) for col, v in clear.items()}
            await conn.execute(
                "INSERT INTO caregivers (id, kind, county_code, township_code, name_enc, phone_enc, email_enc, "
                "wecom_enc, dingtalk_enc, created_by) VALUES ($1, 'volunteer', $2, $3, $4, $5, $6, $7, $8, 'test')",
                caregiver_id, J.county_code, J.township_code, *sealed.values())
            caregivers[caregiver_id] = clear
        child_id, record_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute("INSERT INTO children (id, county_code, township_code, priority, age_band, status, "
                           "record_version) VALUES ($1, $2, $3, false, '6-11', 'active', 1)",
                           child_id, J.county_code, J.township_code)
        await conn.execute(
            "INSERT INTO support_records (id, child_id, county_code, township_code, kind, amount_fen, fund, given_on, "
            "period_key, given_by_enc, created_by) VALUES ($1, $2, $3, $4, 'financial_aid', 100, 'f', $5, 'p', $6, 't')",
            record_id, child_id, J.county_code, J.township_code, date(2026, 3, 1),
            BEFORE.encrypt("镇民政办", context=SUPPORT_GIVEN_BY.context(record_id)))

        result = await rekey(conn, ROTATED, ENTRY.encrypted_columns, batch_size=2)

        assert summary(result) == {
            "caregivers.name_enc": (3, 0, 0), "caregivers.phone_enc": (3, 0, 0), "caregivers.email_enc": (0, 0, 0),
            "caregivers.wecom_enc": (2, 0, 0), "caregivers.dingtalk_enc": (0, 0, 0),
            "support_records.given_by_enc": (1, 0, 0)}
        for caregiver_id, clear in caregivers.items():
            row = await conn.fetchrow("SELECT * FROM caregivers WHERE id = $1", caregiver_id)
            for col, value in clear.items():
                assert row[col] is None or row[col].startswith(f"v1.{NEW}.")
                assert api_caregivers._decrypt(AFTER, caregiver_id, col, row[col]) == value
        token = await conn.fetchval("SELECT given_by_enc FROM support_records WHERE id = $1", record_id)
        assert AFTER.decrypt(token, context=f"support_records.given_by:{record_id}") == "镇民政办"
    finally:
        await conn.close()


async def test_a_value_that_does_not_decrypt_is_counted_failed_and_left_alone(infra) -> None:
    from services.registry.entry import ENTRY

    url = await create_migrated_database(infra, "registry", migrations("registry"))
    conn = await asyncpg.connect(url)
    try:
        good, unknown_key, moved = child(1, address="甲"), child(2, address="乙"), child(3, address="丙")
        await insert_children(conn, [good, moved], BEFORE)
        await insert_children(conn, [unknown_key], cipher(GONE, current=GONE))
        # A ciphertext copied from another row is bound to that row: it does not open here.
        await conn.execute("UPDATE children SET address_enc = (SELECT address_enc FROM children WHERE id = $1) "
                           "WHERE id = $2", good.id, moved.id)
        before = await stored(conn, ENTRY.encrypted_columns[1])

        result = await rekey(conn, ROTATED, ENTRY.encrypted_columns, batch_size=1)

        assert summary(result)["children.address_enc"] == (1, 2, 0)
        after = await stored(conn, ENTRY.encrypted_columns[1])
        assert after[unknown_key.id] == before[unknown_key.id] and after[moved.id] == before[moved.id]
        assert after[good.id].startswith(f"v1.{NEW}.")
        assert (await count_by_key(conn, ENTRY.encrypted_columns))["children.address_enc"] == {
            GONE: 1, NEW: 1, OLD: 1}
    finally:
        await conn.close()


async def test_a_value_rewritten_after_it_was_read_is_not_overwritten(infra) -> None:
    url = await create_migrated_database(infra, "notify", migrations("notify"))
    conn, other = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        ids = [uuid.uuid4(), uuid.uuid4()]
        for n, staff_id in enumerate(ids):
            await conn.execute(
                "INSERT INTO staff_recipients (id, staff_id, jurisdiction, level, channels, contacts_enc) "
                "VALUES ($1, $2, $3, 'township', '{sms}', $4)", staff_id, f"s{n}", J.township_code,
                BEFORE.encrypt(json.dumps({"sms": f"1380000000{n}"}), context=STAFF_CONTACTS.context(staff_id)))
        async with conn.transaction():
            rows = await stale_batch(conn, STAFF_CONTACTS, ROTATED, None, 10)
            assert [r["id"] for r in rows] == sorted(ids)
            # Between the read and the write, a route saves a new address for the first one.
            theirs = AFTER.encrypt(json.dumps({"sms": "13900000000"}), context=STAFF_CONTACTS.context(rows[0]["id"]))
            await other.execute("UPDATE staff_recipients SET contacts_enc = $1 WHERE id = $2", theirs, rows[0]["id"])
            counts = ColumnCounts()
            await reencrypt_rows(conn, STAFF_CONTACTS, ROTATED, rows, counts)
        assert (counts.reencrypted, counts.failed, counts.changed_concurrently) == (1, 0, 1)
        now = await stored(conn, STAFF_CONTACTS)
        assert now[rows[0]["id"]] == theirs
        kept = rows[1]["id"]
        assert json.loads(AFTER.decrypt(now[kept], context=STAFF_CONTACTS.context(kept))) == {
            "sms": f"1380000000{ids.index(kept)}"}
        # The guard on its own: the old value no longer matches, so nothing is written.
        assert not await replace_if_unchanged(conn, STAFF_CONTACTS, rows[0]["id"], rows[0]["value"], "v1.x.y")
        assert await replace_if_unchanged(conn, STAFF_CONTACTS, rows[0]["id"], theirs, theirs)
    finally:
        await conn.close()
        await other.close()


def _notify_rows(url: str, *, unknown: bool) -> list[uuid.UUID]:
    async def insert() -> list[uuid.UUID]:
        conn = await asyncpg.connect(url)
        try:
            ids = []
            for n in range(3):
                sid = uuid.uuid4()
                sealer = cipher(GONE, current=GONE) if unknown and n == 0 else BEFORE
                await conn.execute(
                    "INSERT INTO webhook_subscriptions (id, county_code, url_enc, secret_enc, event_types) "
                    "VALUES ($1, $2, $3, $4, '{ConcernRaised}')", sid, J.county_code,
                    sealer.encrypt(f"https://hooks.example.gov.cn/{n}", context=WEBHOOK_URL.context(sid)),
                    sealer.encrypt(f"secret-{n}-0123456789", context=WEBHOOK_SECRET.context(sid)))
                ids.append(sid)
            return ids
        finally:
            await conn.close()
    return asyncio.run(insert())


def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()
    return asyncio.run(run())


@pytest.fixture
def notify_env(infra, monkeypatch) -> str:
    url = asyncio.run(create_migrated_database(infra, "notify", migrations("notify")))
    monkeypatch.setenv("SHOUHU_NOTIFY_DATABASE_URL", url)
    monkeypatch.delenv("SHOUHU_CRYPTO_KEYS_FILE", raising=False)
    monkeypatch.setenv("SHOUHU_CRYPTO_KEYS", ",".join(f"{k}:{base64.b64encode(KEYS[k]).decode()}" for k in (NEW, OLD)))
    monkeypatch.setenv("SHOUHU_CRYPTO_CURRENT_KEY_ID", NEW)
    monkeypatch.setenv("SHOUHU_CRYPTO_INDEX_KEY", base64.b64encode(INDEX_KEY).decode())
    return url


def _lines(capsys) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_the_cli_counts_in_a_dry_run_then_rekeys_and_exits_0(notify_env, capsys) -> None:
    ids = _notify_rows(notify_env, unknown=False)

    assert cli.main(["rekey", "notify", "--dry-run"]) == 0
    dry = {line["column"]: line for line in _lines(capsys)}
    assert dry["webhook_subscriptions.url_enc"]["values_per_key"] == {OLD: 3}
    assert dry["staff_recipients.contacts_enc"]["values_per_key"] == {}
    assert all(r["url_enc"].startswith(f"v1.{OLD}.") for r in _fetch(notify_env, "SELECT url_enc FROM webhook_subscriptions"))

    assert cli.main(["rekey", "notify", "--batch-size", "2"]) == 0
    out = _lines(capsys)
    done = {line["column"]: line for line in out if "reencrypted" in line}
    assert {c: (d["reencrypted"], d["failed"]) for c, d in done.items()} == {
        "staff_recipients.contacts_enc": (0, 0), "webhook_subscriptions.url_enc": (3, 0),
        "webhook_subscriptions.secret_enc": (3, 0),
        # notify's family notes and replies (none written here): declared, so rekeyed too
        "family_notes.body_enc": (0, 0), "family_replies.text_enc": (0, 0)}
    counts = {line["column"]: line["values_per_key"] for line in out if "values_per_key" in line}
    assert counts["webhook_subscriptions.url_enc"] == {NEW: 3} == counts["webhook_subscriptions.secret_enc"]
    for row in _fetch(notify_env, "SELECT id, url_enc, secret_enc FROM webhook_subscriptions"):
        n = ids.index(row["id"])
        assert AFTER.decrypt(row["url_enc"], context=f"webhook_subscriptions.url:{row['id']}") == \
            f"https://hooks.example.gov.cn/{n}"
        assert AFTER.decrypt(row["secret_enc"], context=f"webhook_subscriptions.secret:{row['id']}") == \
            f"secret-{n}-0123456789"
    # Only counts, key ids and names are printed: no value, no row id.
    text = json.dumps(out)
    assert not any(str(i) in text for i in ids) and "hooks.example" not in text and "v1." not in text


def test_the_cli_exits_non_zero_when_a_value_does_not_decrypt(notify_env, capsys) -> None:
    _notify_rows(notify_env, unknown=True)

    assert cli.main(["rekey", "notify"]) == 1
    done = {line["column"]: line for line in _lines(capsys) if "reencrypted" in line}
    assert (done["webhook_subscriptions.url_enc"]["reencrypted"], done["webhook_subscriptions.url_enc"]["failed"]) \
        == (2, 1)


@pytest.mark.parametrize("service", cli.SERVICES)
async def test_the_declared_columns_are_exactly_the_encrypted_columns_of_the_schema(infra, service) -> None:
    entry = cli._entry(service)
    url = await create_migrated_database(infra, service, entry.migrations_dir)
    conn = await asyncpg.connect(url)
    try:
        columns = {(r["table_name"], r["column_name"]): r["data_type"] for r in await conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'")}
    finally:
        await conn.close()
    declared = {(c.table, c.column) for c in entry.encrypted_columns}
    # reports holds no personal data at all; the four others each encrypt some columns.
    assert declared or service == "reports", f"{service} declares no encrypted columns"
    # Every declared column exists, holds text, and its id column exists ...
    assert {d: columns.get(d) for d in declared} == {d: "text" for d in declared}
    assert all((c.table, c.id_column) in columns for c in entry.encrypted_columns)
    # ... and every "*_enc" column of the schema is declared, so a new one cannot be forgotten.
    assert {key for key in columns if key[1].endswith("_enc")} == declared
    assert len(entry.encrypted_columns) == len(declared)


def test_only_plain_identifiers_are_accepted() -> None:
    with pytest.raises(ValueError):
        EncryptedColumn('children" ; DROP TABLE children; --', "address_enc", "children.address")
    with pytest.raises(ValueError):
        EncryptedColumn("children", "Address_enc", "children.address")
    with pytest.raises(ValueError):
        asyncio.run(rekey(None, ROTATED, [], batch_size=0))  # type: ignore[arg-type]


async def test_any_id_column_and_values_that_are_not_ciphertexts(infra) -> None:
    url = await create_database(infra, "rekey")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE t (n bigint PRIMARY KEY, secret_enc text)")
        column = EncryptedColumn("t", "secret_enc", "t.secret", id_column="n")
        assert summary(await rekey(conn, ROTATED, [column])) == {"t.secret_enc": (0, 0, 0)}
        assert await count_by_key(conn, [column]) == {"t.secret_enc": {}}
        # Stored in clear by some mistake: not decryptable, and no piece of it shown as a key id.
        await conn.executemany("INSERT INTO t VALUES ($1, $2)", [
            (1, "13812345678"), (2, "a.13812345678.c"), (3, None), (4, BEFORE.encrypt("x", context="t.secret:4"))])

        assert summary(await rekey(conn, ROTATED, [column])) == {"t.secret_enc": (1, 2, 0)}
        assert await count_by_key(conn, [column]) == {"t.secret_enc": {NEW: 1, UNRECOGNISED: 2}}
        assert AFTER.decrypt(await conn.fetchval("SELECT secret_enc FROM t WHERE n = 4"), context="t.secret:4") == "x"
    finally:
        await conn.close()

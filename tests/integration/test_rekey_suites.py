"""Moving between cipher suites on real PostgreSQL: field values from AES-256-GCM to SM4-GCM
(`shouhu rekey`), and the registry's national-ID blind index from HMAC-SHA256 to HMAC-SM3
(recomputed from the decrypted national IDs, shared/reindex.py)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import uuid

import asyncpg
import pytest

from services.registry import privacy, store
from services.registry.card_edits import entry_ids
from services.registry.encrypted_columns import BLIND_INDEX_COLUMNS, NATIONAL_ID_INDEX
from shared import cli
from shared.crypto import CryptoError, FieldCipher
from shared.crypto_suites import HMAC_SM3, SM4_GCM
from shared.reindex import IndexCounts, reindex
from shared.rekey import count_by_key, rekey
from tests.integration.test_rekey import child, connect, full, insert_children, insert_note, migrations, stored
from tests.support.databases import create_migrated_database

AES_ID, SM4_ID = "k2026a", "g2027"
AES_KEY, SM4_KEY, INDEX_KEY = b"\x01" * 32, b"\x02" * 16, b"\x09" * 32
SUITES = {SM4_ID: SM4_GCM}

BEFORE = FieldCipher(keys={AES_ID: AES_KEY}, current_key_id=AES_ID, index_key=INDEX_KEY)
# During the move: both keys configured, the SM4 key current, the index under HMAC-SM3.
MOVING = FieldCipher(keys={AES_ID: AES_KEY, SM4_ID: SM4_KEY}, current_key_id=SM4_ID, index_key=INDEX_KEY,
                     suites=SUITES, index_suite=HMAC_SM3)
AFTER = FieldCipher(keys={SM4_ID: SM4_KEY}, current_key_id=SM4_ID, index_key=INDEX_KEY, suites=SUITES,
                    index_suite=HMAC_SM3)


def counts(result: dict[str, IndexCounts]) -> dict[str, tuple[int, int, int, int, int]]:
    return {label: (c.recomputed, c.unchanged, c.failed, c.changed_concurrently, c.duplicate)
            for label, c in result.items()}


async def test_aes_values_become_sm4_values_that_open_with_the_sm4_key_alone(infra) -> None:
    from services.registry.entry import ENTRY

    url = await create_migrated_database(infra, "registry", migrations("registry"))
    children = [full(1), child(2, address="另一个地址"), full(3)]
    conn = await connect(url)
    try:
        await insert_children(conn, children, BEFORE)
        note_id = await insert_note(conn, children[0].id, "成绩进步", BEFORE)
        assert (await count_by_key(conn, ENTRY.encrypted_columns))["children.address_enc"] == {AES_ID: 3}

        result = await rekey(conn, MOVING, ENTRY.encrypted_columns, batch_size=2)

        assert result["children.address_enc"].reencrypted == 3 and result["growth_notes.note_enc"].reencrypted == 1
        assert all(c.failed == 0 for c in result.values())
        per_key = await count_by_key(conn, ENTRY.encrypted_columns)
        assert per_key["children.address_enc"] == {SM4_ID: 3} and per_key["children.national_id_enc"] == {SM4_ID: 2}
        assert all(set(keys) <= {SM4_ID} for keys in per_key.values())
        for c in children:  # the registry's own code opens them with the SM4 key only
            row = await conn.fetchrow("SELECT * FROM children WHERE id = $1", c.id)
            assert privacy.open_record(row, AFTER) == dataclasses.replace(
                c, guardians=entry_ids(c.id, "guardians", c.guardians), parents=entry_ids(c.id, "parents", c.parents))
        token = await conn.fetchval("SELECT note_enc FROM growth_notes WHERE id = $1", note_id)
        assert AFTER.decrypt(token, context=f"growth_notes.note:{note_id}") == "成绩进步"
        with pytest.raises(CryptoError):  # and no longer with the AES key
            BEFORE.decrypt(token, context=f"growth_notes.note:{note_id}")
    finally:
        await conn.close()


async def test_the_national_id_index_is_recomputed_under_the_new_suite(infra) -> None:
    url = await create_migrated_database(infra, "registry", migrations("registry"))
    first, second, no_id = full(1), full(2), child(3)
    conn = await connect(url)
    try:
        await insert_children(conn, [first, second, no_id], BEFORE)
        unknown = full(4)  # sealed with a key the new settings do not have: its index cannot be recomputed
        await insert_children(conn, [unknown], FieldCipher(keys={"gone": b"\x05" * 32}, current_key_id="gone",
                                                           index_key=INDEX_KEY))
        old_index = await conn.fetchval("SELECT national_id_index FROM children WHERE id = $1", unknown.id)

        result = await reindex(conn, MOVING, BLIND_INDEX_COLUMNS, batch_size=1)

        assert counts(result) == {"children.national_id_index": (2, 0, 1, 0, 0)}
        for c in (first, second):
            found = await store.find_by_national_id_index(conn, privacy.national_id_index(AFTER, c.national_id))
            assert found is not None and found["id"] == c.id
            assert await store.find_by_national_id_index(conn, privacy.national_id_index(BEFORE, c.national_id)) is None
        assert await conn.fetchval("SELECT national_id_index FROM children WHERE id = $1", unknown.id) == old_index
        assert await conn.fetchval("SELECT national_id_index FROM children WHERE id = $1", no_id.id) is None

        again = await reindex(conn, MOVING, BLIND_INDEX_COLUMNS)
        assert counts(again) == {"children.national_id_index": (0, 2, 1, 0, 0)}
    finally:
        await conn.close()


async def test_a_record_duplicated_while_indexes_were_mixed_is_counted_not_overwritten(infra) -> None:
    url = await create_migrated_database(infra, "registry", migrations("registry"))
    conn = await connect(url)
    try:
        original = full(1)
        await insert_children(conn, [original], MOVING)  # already under the new index
        # A pod still on the old settings did not see it and added the same national ID again.
        again = dataclasses.replace(full(1), id=uuid.uuid4())
        await insert_children(conn, [again], BEFORE)
        before = await stored(conn, dataclasses.replace(NATIONAL_ID_INDEX.source, column="national_id_index"))

        result = await reindex(conn, MOVING, BLIND_INDEX_COLUMNS)

        assert counts(result) == {"children.national_id_index": (0, 1, 0, 0, 1)}
        assert await stored(conn, dataclasses.replace(NATIONAL_ID_INDEX.source, column="national_id_index")) == before
    finally:
        await conn.close()


def test_shouhu_rekey_moves_the_registry_to_sm4_and_hmac_sm3(infra, monkeypatch, capsys) -> None:
    url = asyncio.run(create_migrated_database(infra, "registry", migrations("registry")))
    children = [full(1), full(2)]

    async def insert() -> None:
        conn = await connect(url)
        try:
            await insert_children(conn, children, BEFORE)
        finally:
            await conn.close()
    asyncio.run(insert())
    monkeypatch.setenv("SHOUHU_REGISTRY_DATABASE_URL", url)
    monkeypatch.delenv("SHOUHU_CRYPTO_KEYS_FILE", raising=False)
    monkeypatch.delenv("SHOUHU_CRYPTO_INDEX_KEY_FILE", raising=False)
    b64 = base64.b64encode
    monkeypatch.setenv("SHOUHU_CRYPTO_KEYS", f"{SM4_ID}:sm4:{b64(SM4_KEY).decode()},{AES_ID}:{b64(AES_KEY).decode()}")
    monkeypatch.setenv("SHOUHU_CRYPTO_CURRENT_KEY_ID", SM4_ID)
    monkeypatch.setenv("SHOUHU_CRYPTO_INDEX_KEY", b64(INDEX_KEY).decode())
    monkeypatch.setenv("SHOUHU_CRYPTO_INDEX_SUITE", "hmac-sm3")

    assert cli.main(["rekey", "registry"]) == 0

    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    lines = {(line["column"], next(k for k in ("reencrypted", "recomputed", "values_per_key") if k in line)): line
             for line in out}
    assert lines[("children.national_id_enc", "reencrypted")]["reencrypted"] == 2
    assert lines[("children.national_id_index", "recomputed")]["recomputed"] == 2
    assert lines[("children.national_id_index", "recomputed")]["index_suite"] == HMAC_SM3
    assert lines[("children.national_id_enc", "values_per_key")]["values_per_key"] == {SM4_ID: 2}
    assert "v1." not in json.dumps(out) and not any(str(c.id) in json.dumps(out) for c in children)

    async def check() -> None:
        conn = await connect(url)
        try:
            for c in children:
                row = await conn.fetchrow("SELECT * FROM children WHERE id = $1", c.id)
                assert row["national_id_index"] == privacy.national_id_index(AFTER, c.national_id)
                assert privacy.open_record(row, AFTER).national_id == c.national_id
        finally:
            await conn.close()
    asyncio.run(check())


async def test_every_blind_index_column_of_the_registry_is_declared(infra) -> None:
    """A new index column that `shouhu rekey` did not recompute would silently stop matching
    after the index key or suite changed."""
    url = await create_migrated_database(infra, "registry", migrations("registry"))
    conn = await asyncpg.connect(url)
    try:
        columns = {(r["table_name"], r["column_name"]) for r in await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name LIKE '%\\_index'")}
    finally:
        await conn.close()
    assert columns == {(i.source.table, i.column) for i in BLIND_INDEX_COLUMNS}
    assert {(i.source.table, i.source.column) for i in BLIND_INDEX_COLUMNS} == {("children", "national_id_enc")}


async def test_an_index_whose_national_id_was_rewritten_meanwhile_is_left_to_the_writer(infra) -> None:
    from shared.reindex import replace_index_if_unchanged

    url = await create_migrated_database(infra, "registry", migrations("registry"))
    conn = await connect(url)
    try:
        record = full(1)
        await insert_children(conn, [record], BEFORE)
        read = await conn.fetchrow("SELECT id, national_id_enc AS value FROM children WHERE id = $1", record.id)
        # A route corrects the national ID (with its own, new index) after the read.
        corrected = "11010519491231003X"
        theirs = MOVING.encrypt(corrected, context=NATIONAL_ID_INDEX.source.context(record.id))
        await conn.execute("UPDATE children SET national_id_enc = $1, national_id_index = $2 WHERE id = $3",
                           theirs, privacy.national_id_index(MOVING, corrected), record.id)

        stale = privacy.national_id_index(MOVING, record.national_id)
        assert await replace_index_if_unchanged(conn, NATIONAL_ID_INDEX, read, stale) == "changed_concurrently"
        assert await conn.fetchval("SELECT national_id_index FROM children WHERE id = $1", record.id) == \
            privacy.national_id_index(MOVING, corrected)
    finally:
        await conn.close()

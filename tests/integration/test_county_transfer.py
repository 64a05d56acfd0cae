"""Two counties merged into one province deployment (`shouhu export` / `shouhu import`,
shared/transfer*.py) on real PostgreSQL and Kafka: each county with its own databases, keys
(one AES, one SM4), index key, topic prefix and division codes; children and caregivers
written through the services' own APIs, their events relayed onto the county's topics."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.pairing.app import create_app as pairing_app
from services.pairing.config import PairingSettings
from services.pairing.encrypted_columns import CAREGIVER_CONTEXT
from services.pairing.handlers import all_handlers
from services.registry import privacy
from services.registry.app import create_app as registry_app
from services.registry.config import RegistrySettings
from services.registry.encrypted_columns import GROWTH_NOTE
from shared.cli import SERVICES, _entry
from shared.consumer import Consumer, RawRecord
from shared.crypto import FieldCipher
from shared.outbox import OutboxRelay, create_producer
from shared.topics import ensure_topics
from shared.transfer import TransferError, new_transfer_key, transfer_cipher
from shared.transfer_export import export_county
from shared.transfer_import import import_county
from tests.registry.helpers import full_child_body, national_id
from tests.support.auth import bearer
from tests.support.databases import create_database, create_migrated_database

ENTRIES = [_entry(name) for name in SERVICES]


@dataclass
class Deployment:
    """One deployment's five databases, keys and topic prefix."""

    label: str
    urls: dict[str, str]
    cipher: FieldCipher
    prefix: str
    kafka: str

    def env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """What `shouhu export|import` reads: each service's database, Kafka and its prefix."""
        for name, url in self.urls.items():
            monkeypatch.setenv(f"SHOUHU_{name.upper()}_DATABASE_URL", url)
        monkeypatch.setenv("SHOUHU_KAFKA_BOOTSTRAP_SERVERS", self.kafka)
        monkeypatch.setenv("SHOUHU_KAFKA_TOPIC_PREFIX", self.prefix)

    async def fetchval(self, service: str, sql: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.urls[service])
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def fetch(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.urls[service])
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()


async def deployments(infra: Any, ciphers: dict[str, FieldCipher]) -> list[Deployment]:
    """Each service migrated once, its database copied for every other deployment (the same
    release everywhere, as the import requires, in a fraction of the time)."""
    urls: dict[str, dict[str, str]] = {label: {} for label in ciphers}
    for name in SERVICES:
        first = await create_migrated_database(infra, name, _entry(name).migrations_dir)
        for n, label in enumerate(ciphers):
            urls[label][name] = first if n == 0 else await create_database(
                infra, name, template=first.rpartition("/")[2])
    return [Deployment(label, urls[label], cipher, infra.new_topic_prefix(label), infra.kafka_bootstrap)
            for label, cipher in ciphers.items()]


def key(byte: int, size: int = 32) -> bytes:
    return bytes([byte]) * size


@dataclass(frozen=True)
class County:
    code: str
    township: str
    village: str
    surname: str


async def fill(infra: Any, place: Deployment, county: County) -> dict[str, Any]:
    """Three children (one with a growth note) through the registry's API, two caregivers
    through pairing's; the registry's events applied by pairing's consumer, and every outbox
    relayed onto the county's topics."""
    made: dict[str, Any] = {"children": {}, "caregivers": {}}
    staff = bearer(roles=["county_staff"], jurisdiction=county.code)
    jurisdiction = {"county_code": county.code, "township_code": county.township, "village_code": county.village}
    registry_settings = RegistrySettings(database_url=place.urls["registry"], kafka_bootstrap_servers=place.kafka,
                                         kafka_topic_prefix=place.prefix)
    app = registry_app(registry_settings)
    async with app.router.lifespan_context(app):
        app.state.cipher = place.cipher
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            for n in range(3):
                number = national_id(date(2016, 3, 9), "male", region=county.code[:6], sequence=n)
                response = await client.post("/v1/children", headers=staff, json=full_child_body(
                    name=f"{county.surname}小{'一二三'[n]}", national_id=number, school_id=None,
                    jurisdiction=jurisdiction))
                assert response.status_code == 201, response.text
                made["children"][uuid.UUID(response.json()["id"])] = number
        first = next(iter(made["children"]))
        note_id = uuid.uuid4()
        async with app.state.pool.acquire() as conn:
            await conn.execute("INSERT INTO growth_notes (id, child_id, noted_on, area, note_enc, author) "
                               "VALUES ($1, $2, '2026-03-01', 'study', $3, 'test')", note_id, first,
                               place.cipher.encrypt(f"{county.surname}的成长记录", context=GROWTH_NOTE.context(note_id)))
        made["note"] = note_id
        await relay(registry_settings, app.state.pool)

    pairing_settings = PairingSettings(database_url=place.urls["pairing"], kafka_bootstrap_servers=place.kafka,
                                       kafka_topic_prefix=place.prefix)
    app = pairing_app(pairing_settings)
    async with app.router.lifespan_context(app):
        app.state.cipher = place.cipher
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            for n in range(2):
                response = await client.post("/v1/caregivers", headers=staff, json={
                    "kind": "teacher", "name": f"{county.surname}老师{n}", "contact": {"phone": f"1390000000{n}"},
                    "jurisdiction": {"county_code": county.code, "township_code": county.township}})
                assert response.status_code == 201, response.text
                made["caregivers"][uuid.UUID(response.json()["id"])] = f"{county.surname}老师{n}"
        # Pairing learns the county's children from the registry's events, inbox and all.
        registry_events = await place.fetch("registry", "SELECT * FROM outbox ORDER BY id")
        consumer = Consumer(pairing_settings, app.state.pool, name="pairing.registry",
                            topics=("shouhu.registry.events.v1",), handlers=all_handlers(pairing_settings.clock))
        for offset, row in enumerate(registry_events):
            await consumer.process(RawRecord(
                topic=row["topic"], partition=0, offset=offset, key=row["message_key"].encode(),
                headers=[(k, str(v).encode()) for k, v in _json(row["headers"]).items()],
                value=_text(row["payload"]).encode()))
        await relay(pairing_settings, app.state.pool)
    return made


def _json(value: Any) -> dict[str, Any]:
    import json
    return json.loads(value) if isinstance(value, str) else value


def _text(value: Any) -> str:
    import json
    return value if isinstance(value, str) else json.dumps(value)


async def relay(settings: Any, pool: asyncpg.Pool) -> None:
    await ensure_topics(settings)
    producer = create_producer(settings)
    await producer.start()
    try:
        while await OutboxRelay(settings, pool).publish_pending(producer):
            pass
    finally:
        await producer.stop()


async def counts(place: Deployment) -> dict[str, int]:
    tables = {"registry": ("children", "growth_notes", "change_history", "child_history"),
              "pairing": ("caregivers", "children", "change_history"),
              "visits": ("duty_policies",)}
    return {f"{service}.{table}": await place.fetchval(service, f"SELECT count(*) FROM {table}")
            for service, names in tables.items() for table in names}


async def test_two_counties_merge_into_a_province_with_their_history(infra, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, province = await deployments(infra, {
        "ca": FieldCipher(keys={"a2026": key(1)}, current_key_id="a2026", index_key=key(2)),
        # An SM4 county with an SM3 blind index, moving into an AES province.
        "cb": FieldCipher(keys={"b2026": key(3, 16)}, current_key_id="b2026", index_key=key(4),
                          suites={"b2026": "sm4gcm"}, index_suite="hmac-sm3"),
        "pv": FieldCipher(keys={"p2026": key(5)}, current_key_id="p2026", index_key=key(6))})
    made_a = await fill(infra, a, County("330102000000", "330102001000", "330102001051", "王"))
    made_b = await fill(infra, b, County("520424000000", "520424002000", "520424002001", "李"))
    before = {"a": await counts(a), "b": await counts(b), "p": await counts(province)}
    events = {label: {row["event_id"] for service in ("registry", "pairing")
                      for row in await place.fetch(service, "SELECT event_id FROM outbox")}
              for label, place in (("a", a), ("b", b))}

    archives = {}
    for label, place in (("a", a), ("b", b)):
        place.env(monkeypatch)
        key_file = tmp_path / f"{label}.key"
        new_transfer_key(key_file)
        archives[label] = (tmp_path / label, key_file)
        await export_county(ENTRIES, place.cipher, transfer_cipher(key_file), tmp_path / label)
        # Nothing in the archive reads in clear: not a name, not a national ID.
        text = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / label).rglob("*.jsonl"))
        assert "小一" not in text and "老师" not in text
        assert all(number not in text for number in {**made_a["children"], **made_b["children"]}.values())

    province.env(monkeypatch)
    reports = [await import_county(ENTRIES, directory, transfer_cipher(key_file), province.cipher)
               for directory, key_file in archives.values()]
    assert all(not r.skipped for r in reports)

    after = await counts(province)
    for name, n in after.items():
        if name == "visits.duty_policies":  # reference data both loaded: found, left as it was
            assert n == before["p"][name]
        else:
            assert n == before["a"][name] + before["b"][name] + before["p"][name], name
    assert before["a"]["registry.change_history"] > 0 and before["a"]["registry.child_history"] > 0

    # Ids kept; each sealed value opens with the province's keys alone, in the services' contexts.
    children = {**made_a["children"], **made_b["children"]}
    stored = {r["id"]: r for r in await province.fetch("registry", "SELECT * FROM children")}
    assert set(stored) == set(children)
    for child_id, number in children.items():
        row = stored[child_id]
        assert row["national_id_enc"].startswith("v1.p2026.")
        assert province.cipher.decrypt(row["national_id_enc"], context=privacy.context("national_id", child_id)) == number
        # The blind index is the province's: a lookup by the number finds the child.
        assert row["national_id_index"] == privacy.national_id_index(province.cipher, number)
    note = await province.fetchval("registry", "SELECT note_enc FROM growth_notes WHERE id = $1", made_a["note"])
    assert province.cipher.decrypt(note, context=GROWTH_NOTE.context(made_a["note"])) == "王的成长记录"
    for caregiver_id, name in {**made_a["caregivers"], **made_b["caregivers"]}.items():
        sealed = await province.fetchval("pairing", "SELECT name_enc FROM caregivers WHERE id = $1", caregiver_id)
        assert province.cipher.decrypt(sealed, context=f"{CAREGIVER_CONTEXT}.name_enc:{caregiver_id}") == name

    # The registry's duplicate check works through the province's index: the same number again is refused.
    app = registry_app(RegistrySettings(database_url=province.urls["registry"], kafka_bootstrap_servers=province.kafka))
    async with app.router.lifespan_context(app):
        app.state.cipher = province.cipher
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            number = made_b["children"][next(iter(made_b["children"]))]
            again = await client.post("/v1/children", headers=bearer(roles=["county_staff"], jurisdiction="520424000000"),
                                      json=full_child_body(national_id=number, school_id=None, jurisdiction={
                                          "county_code": "520424000000", "township_code": "520424002000"}))
            assert again.status_code == 409, again.text
            # And the names are found by the search staff use.
            found = await client.post("/v1/children/search", json={"query": "李小"},
                                      headers=bearer(roles=["county_staff"], jurisdiction="520424000000"))
            assert found.status_code == 200, found.text
            assert {item["id"] for item in found.json()["items"]} == {str(i) for i in made_b["children"]}

    # The counties' events wait in the province's outboxes with their own ids, and the
    # province's consumers count them as applied (their effects came with the tables).
    queued = {row["event_id"]: row["status"] for service in ("registry", "pairing")
              for row in await province.fetch(service, "SELECT event_id, status FROM outbox")}
    assert set(queued) == events["a"] | events["b"] and set(queued.values()) == {"pending"}
    registry_events = {e for e in events["a"] | events["b"]} & {
        r["event_id"] for r in await a.fetch("registry", "SELECT event_id FROM outbox")} | {
        r["event_id"] for r in await b.fetch("registry", "SELECT event_id FROM outbox")}
    for service, consumer in (("pairing", "pairing.registry"), ("visits", "visits.registry"),
                              ("notify", "notify.events"), ("reports", "reports.registry")):
        marked = {r["event_id"] for r in await province.fetch(
            service, "SELECT event_id FROM inbox WHERE consumer = $1", consumer)}
        assert registry_events <= marked, consumer

    # A second run changes nothing.
    again_reports = [await import_county(ENTRIES, directory, transfer_cipher(key_file), province.cipher)
                     for directory, key_file in archives.values()]
    assert all(not r.imported for r in again_reports)
    assert await counts(province) == after

    # Refusals: the same county from a second archive (its history would be doubled), a
    # wrong transfer key, and a deployment at another schema.
    a.env(monkeypatch)
    await export_county(ENTRIES, a.cipher, transfer_cipher(archives["a"][1]), tmp_path / "a-again")
    province.env(monkeypatch)
    with pytest.raises(TransferError, match="already here"):
        await import_county(ENTRIES, tmp_path / "a-again", transfer_cipher(archives["a"][1]), province.cipher)
    assert await counts(province) == after
    wrong = tmp_path / "wrong.key"
    wrong.write_text(base64.b64encode(key(9)).decode())
    with pytest.raises(TransferError, match="transfer key"):
        await import_county(ENTRIES, archives["a"][0], transfer_cipher(wrong), province.cipher)
    await province.fetchval("visits", "DELETE FROM schema_migrations WHERE version = (SELECT max(version) "
                                      "FROM schema_migrations WHERE component = 'visits') AND component = 'visits'")
    with pytest.raises(TransferError, match="migrations differ"):
        await import_county(ENTRIES, archives["b"][0], transfer_cipher(archives["b"][1]), province.cipher)

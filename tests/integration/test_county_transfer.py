"""Two demo counties merged into one province deployment (`shouhu export` / `shouhu import`,
shared/transfer*.py) on real PostgreSQL and Kafka: each county with its own databases, keys
(one AES, one SM4), index key, topic prefix and division codes, loaded by `shouhu seed
--county` through its own services (api and worker each), as an operator rehearses the merge
(docs/operations.md)."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.pairing.encrypted_columns import CAREGIVER_CONTEXT
from services.registry import privacy
from services.registry.app import create_app as registry_app
from services.registry.config import RegistrySettings
from services.registry.encrypted_columns import GROWTH_NOTE
from services.registry.identity import facts_from_national_id
from shared.cli import SERVICES, _entry
from shared.crypto import CryptoSettings, FieldCipher
from shared.transfer import TransferError, new_transfer_key, transfer_cipher
from shared.transfer_export import export_county
from shared.transfer_import import import_county
from tests.registry.helpers import full_child_body
from tests.support.auth import bearer
from tests.support.databases import create_database, create_migrated_database
from tests.support.processes import REPO, wait_ready
from tests.support.stack import start_service

ENTRIES = [_entry(name) for name in SERVICES]
CHILDREN = 20  # per county: small, the suite's time is short


@dataclass
class Deployment:
    """One deployment's five databases, keys and topic prefix."""

    label: str
    urls: dict[str, str]
    cipher: FieldCipher
    prefix: str
    kafka: str
    keys_env: dict[str, str] = field(default_factory=dict)  # the same keys, for its services' processes

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


def keys(key_id: str, key: bytes, index_key: bytes, *, sm4: bool = False) -> dict[str, str]:
    """SHOUHU_CRYPTO_* of one key (an SM4 one with an SM3 blind index when `sm4`)."""
    return {"SHOUHU_CRYPTO_KEYS": f"{key_id}:{'sm4:' if sm4 else ''}{base64.b64encode(key).decode()}",
            "SHOUHU_CRYPTO_CURRENT_KEY_ID": key_id, "SHOUHU_CRYPTO_INDEX_KEY": base64.b64encode(index_key).decode(),
            "SHOUHU_CRYPTO_INDEX_SUITE": "hmac-sm3" if sm4 else "hmac-sha256"}


def cipher_of(env: dict[str, str]) -> FieldCipher:
    return FieldCipher.from_settings(CryptoSettings(**{name.removeprefix("SHOUHU_CRYPTO_").lower(): value
                                                       for name, value in env.items()}))


async def deployments(infra: Any, keyrings: dict[str, dict[str, str]]) -> list[Deployment]:
    """Each service migrated once, its database copied for every other deployment (the same
    release everywhere, as the import requires, in a fraction of the time)."""
    urls: dict[str, dict[str, str]] = {label: {} for label in keyrings}
    for name in SERVICES:
        first = await create_migrated_database(infra, name, _entry(name).migrations_dir)
        for n, label in enumerate(keyrings):
            urls[label][name] = first if n == 0 else await create_database(
                infra, name, template=first.rpartition("/")[2])
    return [Deployment(label, urls[label], cipher_of(env), infra.new_topic_prefix(label), infra.kafka_bootstrap, env)
            for label, env in keyrings.items()]


def key(byte: int, size: int = 32) -> bytes:
    return bytes([byte]) * size


SEEDED_BY = ("registry", "pairing", "visits")  # what `shouhu seed` talks to


async def seed(infra: Any, place: Deployment, county: str, log_dir: Path) -> dict[str, Any]:
    """`shouhu seed --county` against the deployment's own services on its databases, keys and
    topic prefix (stopped afterwards); then what it made, read back with the county's keys:
    children (id → national ID, name), caregivers (id → name)."""
    services = [await start_service(infra, name, topic_prefix=place.prefix, log_dir=log_dir,
                                    extra_env=place.keys_env, database_url=place.urls[name]) for name in SEEDED_BY]
    try:
        for service in services:
            await wait_ready(service)
        env = {**services[0].env, **{f"SHOUHU_{s.name.upper()}_HTTP_PORT": s.base_url.rpartition(":")[2]
                                     for s in services}}
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "shared.cli", "seed", "--county", county,
                             "--children", str(CHILDREN)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    finally:
        for service in services:
            service.api.stop()
            service.worker.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["county"] == county and summary["children"] == CHILDREN and summary["pairings"] > 0
    made: dict[str, Any] = {"summary": summary, "children": {}, "names": {}, "caregivers": {}}
    for row in await place.fetch("registry", "SELECT id, name, national_id_enc FROM children"):
        made["names"][row["id"]] = row["name"]
        made["children"][row["id"]] = row["national_id_enc"] and place.cipher.decrypt(
            row["national_id_enc"], context=privacy.context("national_id", row["id"]))
    assert sum(1 for number in made["children"].values() if number) == summary["national_ids"] > 0
    for row in await place.fetch("pairing", "SELECT id, name_enc FROM caregivers"):
        made["caregivers"][row["id"]] = place.cipher.decrypt(row["name_enc"],
                                                             context=f"{CAREGIVER_CONTEXT}.name_enc:{row['id']}")
    # A growth note (no API writes one yet): sealed under the county's key, moved like the rest.
    made["note"] = note_id = uuid.uuid4()
    await place.fetchval("registry", "INSERT INTO growth_notes (id, child_id, noted_on, area, note_enc, author) "
                                     "VALUES ($1, $2, '2026-03-01', 'study', $3, 'test')", note_id,
                         next(iter(made["children"])),
                         place.cipher.encrypt(f"{county}的成长记录", context=GROWTH_NOTE.context(note_id)))
    return made


async def counts(place: Deployment) -> dict[str, int]:
    tables = {"registry": ("children", "growth_notes", "change_history", "child_history"),
              "pairing": ("caregivers", "children", "change_history"),
              "visits": ("duty_policies",)}
    return {f"{service}.{table}": await place.fetchval(service, f"SELECT count(*) FROM {table}")
            for service, names in tables.items() for table in names}


async def test_two_counties_merge_into_a_province_with_their_history(infra, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, province = await deployments(infra, {
        "ca": keys("a2026", key(1), key(2)),
        # An SM4 county with an SM3 blind index, moving into an AES province.
        "cb": keys("b2026", key(3, 16), key(4), sm4=True),
        "pv": keys("p2026", key(5), key(6))})
    made_a = await seed(infra, a, "330102000000", tmp_path)   # 上城区, Hangzhou
    made_b = await seed(infra, b, "520424000000", tmp_path)   # 关岭, `make up`'s county
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
        made = made_a if label == "a" else made_b
        assert all(name not in text for name in [*made["names"].values(), *made["caregivers"].values()])
        assert all(number not in text for number in made["children"].values() if number)

    province.env(monkeypatch)
    staff_of_a = bearer(roles=["county_staff"], jurisdiction="330102000000")
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
        if number is None:
            continue
        assert row["national_id_enc"].startswith("v1.p2026.")
        assert province.cipher.decrypt(row["national_id_enc"], context=privacy.context("national_id", child_id)) == number
        # The blind index is the province's: a lookup by the number finds the child.
        assert row["national_id_index"] == privacy.national_id_index(province.cipher, number)
    note = await province.fetchval("registry", "SELECT note_enc FROM growth_notes WHERE id = $1", made_a["note"])
    assert province.cipher.decrypt(note, context=GROWTH_NOTE.context(made_a["note"])) == "330102000000的成长记录"
    for caregiver_id, name in {**made_a["caregivers"], **made_b["caregivers"]}.items():
        sealed = await province.fetchval("pairing", "SELECT name_enc FROM caregivers WHERE id = $1", caregiver_id)
        assert province.cipher.decrypt(sealed, context=f"{CAREGIVER_CONTEXT}.name_enc:{caregiver_id}") == name

    # The province answers for both counties through its API: each county's children, and a
    # child of a county that moved in, with its change history.
    app = registry_app(RegistrySettings(database_url=province.urls["registry"], kafka_bootstrap_servers=province.kafka))
    async with app.router.lifespan_context(app):
        app.state.cipher = province.cipher
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            for county, made in (("330102000000", made_a), ("520424000000", made_b)):
                staff = bearer(roles=["county_staff"], jurisdiction=county)
                listed = await client.get("/v1/children?limit=100", headers=staff)
                assert listed.status_code == 200, listed.text
                assert {item["id"] for item in listed.json()["items"]} == {str(i) for i in made["children"]}
            child_id = next(iter(made_a["children"]))
            read = await client.get(f"/v1/children/{child_id}", headers=staff_of_a)
            assert read.status_code == 200, read.text
            assert read.json()["name"] == made_a["names"][child_id]
            assert read.json()["jurisdiction"]["county_code"] == "330102000000"
            history = await client.get(f"/v1/history/child/{child_id}", headers=staff_of_a)
            assert history.status_code == 200 and history.json()["items"], history.text

            # The registry's duplicate check works through the province's index: the same number again is refused.
            child_id, number = next((i, n) for i, n in made_b["children"].items() if n)
            born, gender = facts_from_national_id(number)
            again = await client.post("/v1/children", headers=bearer(roles=["county_staff"], jurisdiction="520424000000"),
                                      json=full_child_body(national_id=number, school_id=None, birth_date=born.isoformat(),
                                                           gender=gender, jurisdiction={
                                                               "county_code": "520424000000",
                                                               "township_code": "520424002000"}))
            assert again.status_code == 409, again.text
            # And the names are found by the search staff use.
            found = await client.post("/v1/children/search", json={"query": made_b["names"][child_id]},
                                      headers=bearer(roles=["county_staff"], jurisdiction="520424000000"))
            assert found.status_code == 200, found.text
            assert str(child_id) in {item["id"] for item in found.json()["items"]}

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

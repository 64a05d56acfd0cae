"""The caregiver's children, on real PostgreSQL: pairing's events delivered (twice each)
through the registry consumer's real inbox path open and close a child's card; what the
card shows and hides; the audit trail; growth notes by the paired caregiver."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest_asyncio

from services.registry.config import RegistrySettings
from services.registry.handlers import PAIRING_HANDLERS
from shared.consumer import Consumer, RawRecord
from shared.contracts import Event, Jurisdiction, PairingCreated, PairingEnded, encode
from shared.clock import from_env
from tests.registry.helpers import full_child_body, staff_headers
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer

HERE = Jurisdiction(county_code=COUNTY, township_code=TOWNSHIP, village_code=VILLAGE)
HIDDEN = ("incarcerated_parent", "服刑", "某村12号", "national_id", "address", "sensitive_categories",
          "priority_reason", "lawful_basis")


class Pairings:
    """Delivers pairing's events to the registry's handlers through a real Consumer."""

    def __init__(self, registry) -> None:
        settings = RegistrySettings(database_url=registry.database_url, consumer_retry_base_s=0.01,
                                    consumer_max_attempts=2)
        self.consumer = Consumer(settings, registry.pool, name="registry.test", topics=(), handlers=PAIRING_HANDLERS)

    async def deliver(self, event: Event, *, times: int = 2) -> None:
        """The same event (same id) `times` times: a redelivery must change nothing."""
        encoded = encode(event, event_id=uuid.uuid4())
        record = RawRecord(topic=encoded.topic, partition=0, offset=0, key=encoded.key.encode(),
                           headers=[(k, v.encode()) for k, v in encoded.headers.items()], value=encoded.value)
        for _ in range(times):
            await self.consumer.process(record)

    async def pair(self, child_id: str, caregiver_id: uuid.UUID, *, role: str = "lead") -> uuid.UUID:
        pairing_id = uuid.uuid4()
        await self.deliver(PairingCreated(child_id=uuid.UUID(child_id), pairing_id=pairing_id,
                                          caregiver_id=caregiver_id, role=role, jurisdiction=HERE,
                                          started_on=date(2026, 9, 1)))
        return pairing_id

    async def end(self, child_id: str, pairing_id: uuid.UUID, caregiver_id: uuid.UUID) -> None:
        await self.deliver(PairingEnded(child_id=uuid.UUID(child_id), pairing_id=pairing_id,
                                        caregiver_id=caregiver_id, jurisdiction=HERE, ended_on=date(2026, 11, 1),
                                        reason="reassigned"))


@pytest_asyncio.fixture(loop_scope="session")
async def pairings(registry) -> Pairings:
    return Pairings(registry)


def caregiver(caregiver_id: uuid.UUID, jurisdiction: str = TOWNSHIP) -> dict[str, str]:
    return bearer(roles=["caregiver"], jurisdiction=jurisdiction, caregiver_id=str(caregiver_id),
                  subject=f"cg-{caregiver_id}")


async def _child(registry, **overrides) -> str:
    response = await registry.client.post("/v1/children", json=full_child_body(national_id=None, **overrides),
                                          headers=staff_headers())
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_pairing_opens_the_card_and_its_end_closes_it(registry, pairings) -> None:
    child_id = await _child(registry)
    me = uuid.uuid4()
    assert (await registry.client.get(f"/v1/me/children/{child_id}", headers=caregiver(me))).status_code == 404

    pairing_id = await pairings.pair(child_id, me)
    assert await registry.fetchval("SELECT count(*) FROM caregiver_pairings WHERE pairing_id = $1", pairing_id) == 1
    assert await registry.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'registry.test'") >= 1

    card = await registry.client.get(f"/v1/me/children/{child_id}", headers=caregiver(me))
    assert card.status_code == 200, card.text
    body = card.json()
    assert body["name"] == "王小明" and body["gender"] == "male" and isinstance(body["age"], int)
    assert (body["school_id"], body["grade"], body["class_name"]) == ("school-1", "三年级", "2班")
    assert body["jurisdiction"]["village_code"] == VILLAGE
    assert body["place"] == {"township_code": TOWNSHIP, "township_name": "清波街道", "village_code": VILLAGE,
                             "village_name": "清波门社区", "school_id": "school-1", "school_name": None}
    # Each entry with its id: the app addresses a note to a family member by it.
    people = [{k: v for k, v in person.items() if k != "id"} for person in body["guardians"] + body["parents"]]
    assert all(person["id"] for person in body["guardians"] + body["parents"])
    assert people == [{"relation": "grandparent", "name": "王奶奶", "phone": "+8613800138000", "entrusted": False},
                      {"relation": "mother", "name": "李某", "phone": "+8613912345678"}]
    assert body["pairing"] == {"role": "lead", "since": "2026-09-01"}
    for hidden in HIDDEN:
        assert hidden not in card.text, hidden

    listed = await registry.client.get("/v1/me/children", headers=caregiver(me))
    assert listed.status_code == 200 and [item["id"] for item in listed.json()["items"]] == [child_id]
    assert listed.json()["items"][0] == body

    await pairings.end(child_id, pairing_id, me)
    assert (await registry.client.get(f"/v1/me/children/{child_id}", headers=caregiver(me))).status_code == 404
    assert (await registry.client.get("/v1/me/children", headers=caregiver(me))).json()["items"] == []


async def test_an_end_replayed_before_its_start_never_opens_the_card(registry, pairings) -> None:
    child_id = await _child(registry)
    me = uuid.uuid4()
    pairing_id = uuid.uuid4()
    await pairings.end(child_id, pairing_id, me)
    await pairings.deliver(PairingCreated(child_id=uuid.UUID(child_id), pairing_id=pairing_id, caregiver_id=me,
                                          jurisdiction=HERE, started_on=date(2026, 9, 1)))
    row = (await registry.fetch("SELECT * FROM caregiver_pairings WHERE pairing_id = $1", pairing_id))[0]
    assert row["started_on"] == date(2026, 9, 1) and row["ended_on"] == date(2026, 11, 1)
    assert (await registry.client.get(f"/v1/me/children/{child_id}", headers=caregiver(me))).status_code == 404


async def test_only_the_paired_caregiver_in_scope_reads_the_card(registry, pairings) -> None:
    child_id = await _child(registry)
    me, other = uuid.uuid4(), uuid.uuid4()
    await pairings.pair(child_id, me, role="helper")
    assert (await registry.client.get(f"/v1/me/children/{child_id}", headers=caregiver(me))).json()["pairing"][
        "role"] == "helper"
    assert (await registry.client.get(f"/v1/me/children/{child_id}", headers=caregiver(other))).status_code == 404
    # A caregiver token scoped elsewhere does not reach the child even with the pairing.
    elsewhere = caregiver(me, jurisdiction="330103000000")
    assert (await registry.client.get(f"/v1/me/children/{child_id}", headers=elsewhere)).status_code == 404
    # Staff have their own routes; a caregiver still has no access to the staff record.
    assert (await registry.client.get("/v1/me/children", headers=staff_headers())).status_code == 403
    no_claim = bearer(roles=["caregiver"], jurisdiction=TOWNSHIP)
    assert (await registry.client.get("/v1/me/children", headers=no_claim)).status_code == 403
    assert (await registry.client.get(f"/v1/children/{child_id}", headers=caregiver(me))).status_code == 403


async def test_every_read_is_audited_with_the_care_purpose(registry, pairings) -> None:
    child_id = await _child(registry)
    me = uuid.uuid4()
    await pairings.pair(child_id, me)
    headers = caregiver(me)
    assert (await registry.client.get(f"/v1/me/children/{child_id}", headers=headers)).status_code == 200
    assert (await registry.client.get("/v1/me/children", headers=headers)).status_code == 200
    rows = await registry.fetch(
        "SELECT action, record_ids, fields, purpose, roles FROM read_audit WHERE subject = $1 ORDER BY id",
        f"cg-{me}")
    assert [row["action"] for row in rows] == ["caregiver_card", "caregiver_list"]
    assert all(row["purpose"] == "帮扶联系" and row["roles"] == ["caregiver"] for row in rows)
    assert rows[0]["record_ids"] == [uuid.UUID(child_id)]
    assert {"name", "guardians.phone", "parents.phone"} <= set(rows[0]["fields"])


async def test_the_paired_caregiver_adds_and_reads_growth_notes(registry, pairings) -> None:
    child_id = await _child(registry)
    me = uuid.uuid4()
    headers = caregiver(me)
    noted_on = (from_env().today() - timedelta(days=10)).isoformat()
    note = {"noted_on": noted_on, "area": "study", "text": "数学进步明显，愿意主动发言"}
    assert (await registry.client.post(f"/v1/me/children/{child_id}/growth-notes", json=note,
                                       headers=headers)).status_code == 404
    pairing_id = await pairings.pair(child_id, me)
    added = await registry.client.post(f"/v1/me/children/{child_id}/growth-notes", json=note, headers=headers)
    assert added.status_code == 201, added.text
    stored = await registry.fetchval("SELECT note_enc FROM growth_notes WHERE id = $1", uuid.UUID(added.json()["id"]))
    assert "数学" not in stored

    read = await registry.client.get(f"/v1/me/children/{child_id}/growth-notes", headers=headers)
    assert read.status_code == 200
    assert [(n["noted_on"], n["area"], n["text"], n["author"]) for n in read.json()["items"]] == [
        (noted_on, "study", note["text"], f"cg-{me}")]
    audited = await registry.fetch("SELECT purpose, fields FROM read_audit WHERE subject = $1 AND action = $2",
                                   f"cg-{me}", "caregiver_growth_notes")
    assert [(r["purpose"], r["fields"]) for r in audited] == [("帮扶联系", ["growth_notes.text"])]

    future = {**note, "noted_on": (from_env().today() + timedelta(days=400)).isoformat()}
    refused = await registry.client.post(f"/v1/me/children/{child_id}/growth-notes", json=future, headers=headers)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.noted_on"
    assert "数学" not in json.dumps(refused.json(), ensure_ascii=False)
    assert await registry.fetchval("SELECT count(*) FROM growth_notes WHERE child_id = $1", uuid.UUID(child_id)) == 1

    await pairings.end(child_id, pairing_id, me)
    for response in (await registry.client.get(f"/v1/me/children/{child_id}/growth-notes", headers=headers),
                     await registry.client.post(f"/v1/me/children/{child_id}/growth-notes", json=note,
                                                headers=headers)):
        assert response.status_code == 404


async def test_staff_list_and_search_children_paired_or_not(registry, pairings) -> None:
    # The console's 结对/未结对 filter: paired with anyone now, or with no one (an ended
    # pairing leaves the child unpaired again), in the list and in the search alike.
    paired = await _child(registry, name="结对甲")
    ended = await _child(registry, name="结对乙")
    never = await _child(registry, name="结对丙")
    await pairings.pair(paired, uuid.uuid4())
    someone = uuid.uuid4()
    await pairings.end(ended, await pairings.pair(ended, someone), someone)

    async def listed(flag: str) -> set[str]:
        response = await registry.client.get(f"/v1/children?paired={flag}&limit=100", headers=staff_headers())
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]} & {paired, ended, never}

    assert await listed("true") == {paired}
    assert await listed("false") == {ended, never}
    found = await registry.client.post("/v1/children/search", json={"query": "结对", "paired": False},
                                       headers=staff_headers())
    assert found.status_code == 200, found.text
    assert {item["id"] for item in found.json()["items"]} == {ended, never}
    bad = await registry.client.get("/v1/children?paired=perhaps", headers=staff_headers())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.paired"

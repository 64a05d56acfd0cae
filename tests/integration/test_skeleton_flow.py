"""The walking skeleton across all four services, over real Kafka and PostgreSQL:
POST a child → ChildRegistered → pairing's projection; POST a visit → VisitLogged →
notify's inbox. Plus bad input at the edge: 401, 422, and nothing written."""

from __future__ import annotations

import json
import uuid
from typing import AsyncIterator

import asyncpg
import httpx
import pytest_asyncio
from aiokafka import AIOKafkaConsumer

from shared import clock
from shared.contracts import decode
from shared.contracts.events import REGISTRY_TOPIC
from tests.support.auth import COUNTY, OTHER_COUNTY, TOWNSHIP, VILLAGE, bearer, staff
from tests.support.stack import start_stack, stop_stack
from tests.support.waiting import wait_for

CHILD = {
    "name": "王小明",
    "gender": "male",
    "birth_date": "2016-03-09",
    "jurisdiction": {"county_code": COUNTY, "township_code": TOWNSHIP, "village_code": VILLAGE},
    "school_id": "school-1",
    "categories": ["left_behind"],
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(infra, tmp_path_factory) -> AsyncIterator[dict]:
    services = await start_stack(infra, tmp_path_factory.mktemp("stack-logs"))
    try:
        yield services
    finally:
        stop_stack(services)


@pytest_asyncio.fixture(loop_scope="session")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


async def _count_children(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM children")
    finally:
        await conn.close()


async def test_child_and_visit_flow_across_all_services(stack, client, infra) -> None:
    registry, pairing, visits, notify = (stack[n] for n in ("registry", "pairing", "visits", "notify"))

    created = await client.post(f"{registry.base_url}/v1/children", json=CHILD, headers=staff())
    assert created.status_code == 201, created.text
    child_id = created.json()["id"]

    # ChildRegistered is on Kafka, keyed by the child, with no personal data in it.
    topic = registry.env["SHOUHU_KAFKA_TOPIC_PREFIX"] + REGISTRY_TOPIC
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=infra.kafka_bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        async def registered_message():
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    if record.key == child_id.encode():
                        return record
            return None

        record = await wait_for(registered_message, timeout=30, what="ChildRegistered on Kafka")
    finally:
        await consumer.stop()
    envelope = decode(record.headers, record.key, record.value)
    assert envelope.type == "cn.shouhu.ChildRegistered.v1"
    assert str(envelope.data.child_id) == child_id
    assert "王小明" not in record.value.decode() and "王小明" not in json.dumps(
        [(k, v.decode()) for k, v in record.headers])

    async def pairing_knows_child():
        response = await client.get(f"{pairing.base_url}/v1/children/{child_id}", headers=staff())
        return response if response.status_code == 200 else None

    projected = await wait_for(pairing_knows_child, timeout=30, what="pairing's projection")
    assert projected.json()["jurisdiction"]["village_code"] == VILLAGE

    async def visits_knows_child():
        response = await client.get(f"{visits.base_url}/v1/children/{child_id}/contacts", headers=staff())
        return response.status_code == 200

    await wait_for(visits_knows_child, timeout=30, what="visits' projection")

    # Staff enrol a caregiver and pair them with the child; visits learns of the pairing
    # through Kafka, and only then accepts the caregiver's own contact for this child.
    enrolled = await client.post(f"{pairing.base_url}/v1/caregivers", headers=staff(), json={
        "kind": "teacher", "school_id": "school-1",
        "jurisdiction": {"county_code": COUNTY, "township_code": TOWNSHIP, "village_code": VILLAGE}})
    assert enrolled.status_code == 201, enrolled.text
    caregiver_id = enrolled.json()["id"]
    paired = await client.post(f"{pairing.base_url}/v1/pairings", headers=staff(),
                               json={"child_id": child_id, "caregiver_id": caregiver_id})
    assert paired.status_code == 201, paired.text

    caregiver = bearer(roles=["caregiver"], jurisdiction=TOWNSHIP, caregiver_id=caregiver_id, subject="teacher-li")
    contact = {"id": str(uuid.uuid4()), "child_id": child_id, "caregiver_id": caregiver_id, "kind": "home_visit",
               "occurred_at": clock.from_env().now().isoformat()}

    async def contact_accepted():
        response = await client.post(f"{visits.base_url}/v1/contacts", json=contact, headers=caregiver)
        assert response.status_code in (201, 403), response.text  # 403 until PairingCreated arrives
        return response if response.status_code == 201 else None

    await wait_for(contact_accepted, timeout=30, what="visits to accept the paired caregiver's contact")

    async def contact_notice():
        response = await client.get(f"{notify.base_url}/v1/notifications", headers=caregiver)
        if response.status_code != 200:
            return None
        return [n for n in response.json()["items"] if n["template"] == "contact_logged"] or None

    notices = await wait_for(contact_notice, timeout=30, what="notify's notification of the contact")
    assert len(notices) == 1 and notices[0]["child_id"] == child_id
    # The name is asked of the registry when the inbox is read; it travelled in no event.
    assert notices[0]["text"] == "您与王小明的家访记录已保存，谢谢您的付出。" and notices[0]["named"] is True


async def test_every_api_answers_health_docs_and_metrics(stack, client) -> None:
    for service in stack.values():
        assert (await client.get(f"{service.base_url}/healthz")).status_code == 200
        ready = await client.get(f"{service.base_url}/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert {"outbox_pending", "outbox_oldest_age_s", "consumer_lag"} <= body.keys()
        assert (await client.get(f"{service.base_url}/docs")).status_code == 200
        paths = (await client.get(f"{service.base_url}/openapi.json")).json()["paths"]
        assert all(path.startswith("/v1/") for path in paths if path not in ("/healthz", "/readyz", "/metrics"))
        metrics = await client.get(f"{service.base_url}/metrics")
        assert "shouhu_http_requests_total" in metrics.text


async def test_missing_or_invalid_token_is_401_and_writes_nothing(stack, client) -> None:
    registry = stack["registry"]
    before = await _count_children(registry.database_url)
    assert (await client.post(f"{registry.base_url}/v1/children", json=CHILD)).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await client.post(f"{registry.base_url}/v1/children", json=CHILD, headers=bad)).status_code == 401
    forged = bearer(roles=["county_staff"], jurisdiction=COUNTY)["Authorization"][:-4] + "AAAA"
    response = await client.post(f"{registry.base_url}/v1/children", json=CHILD, headers={"Authorization": forged})
    assert response.status_code == 401
    assert await _count_children(registry.database_url) == before


async def test_unknown_field_and_malformed_json_are_422_naming_the_field(stack, client) -> None:
    registry = stack["registry"]
    before = await _count_children(registry.database_url)
    response = await client.post(f"{registry.base_url}/v1/children", json={**CHILD, "nickname": "x"},
                                 headers=staff())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.nickname"
    assert "王小明" not in response.text  # the rejected input is never echoed back

    malformed = await client.post(f"{registry.base_url}/v1/children", content=b'{"name": "x",',
                                  headers={**staff(), "Content-Type": "application/json"})
    assert malformed.status_code == 422
    assert await _count_children(registry.database_url) == before


async def test_idempotency_key_returns_the_first_answer(stack, client) -> None:
    registry = stack["registry"]
    headers = {**staff(), "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(f"{registry.base_url}/v1/children", json=CHILD, headers=headers)
    second = await client.post(f"{registry.base_url}/v1/children", json=CHILD, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    reused = await client.post(f"{registry.base_url}/v1/children", json={**CHILD, "gender": "female"},
                               headers=headers)
    assert reused.status_code == 422


async def test_out_of_jurisdiction_read_is_404(stack, client) -> None:
    registry = stack["registry"]
    created = await client.post(f"{registry.base_url}/v1/children", json=CHILD, headers=staff())
    child_id = created.json()["id"]
    elsewhere = await client.get(f"{registry.base_url}/v1/children/{child_id}", headers=staff(OTHER_COUNTY))
    assert elsewhere.status_code == 404
    assert (await client.get(f"{registry.base_url}/v1/children/{child_id}", headers=staff())).status_code == 200

"""A caregiver's children across the real registry and pairing processes, over Kafka:
pairing a child lets the caregiver read the child's card in the registry, and ending the
pairing takes it away. No call between the services: the registry learns of both from
pairing's events."""

from __future__ import annotations

from typing import AsyncIterator

import httpx
import pytest_asyncio

from tests.registry.helpers import full_child_body
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer, staff
from tests.support.processes import wait_ready
from tests.support.stack import start_service, stop_stack
from tests.support.waiting import wait_for


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def services(infra, tmp_path_factory) -> AsyncIterator[dict]:
    prefix = infra.new_topic_prefix("care")
    logs = tmp_path_factory.mktemp("care-logs")
    started = {}
    try:
        for name in ("registry", "pairing"):
            started[name] = await start_service(infra, name, topic_prefix=prefix, log_dir=logs)
        for service in started.values():
            await wait_ready(service)
        yield started
    finally:
        stop_stack(started)


async def test_pairing_opens_the_childs_card_and_ending_it_closes_it(services) -> None:
    registry, pairing = services["registry"], services["pairing"]
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(f"{registry.base_url}/v1/children", headers=staff(),
                                    json=full_child_body(name="李思雨", gender="female", national_id=None))
        assert created.status_code == 201, created.text
        child_id = created.json()["id"]

        async def pairing_knows_child():
            response = await client.get(f"{pairing.base_url}/v1/children/{child_id}", headers=staff())
            return response.status_code == 200

        await wait_for(pairing_knows_child, timeout=30, what="pairing's child projection")
        enrolled = await client.post(f"{pairing.base_url}/v1/caregivers", headers=staff(), json={
            "kind": "teacher", "school_id": "school-1",
            "jurisdiction": {"county_code": COUNTY, "township_code": TOWNSHIP, "village_code": VILLAGE}})
        assert enrolled.status_code == 201, enrolled.text
        caregiver_id = enrolled.json()["id"]
        me = bearer(roles=["caregiver"], jurisdiction=TOWNSHIP, caregiver_id=caregiver_id, subject="teacher-wang")
        card_url = f"{registry.base_url}/v1/me/children/{child_id}"
        assert (await client.get(card_url, headers=me)).status_code == 404

        paired = await client.post(f"{pairing.base_url}/v1/pairings", headers=staff(),
                                   json={"child_id": child_id, "caregiver_id": caregiver_id})
        assert paired.status_code == 201, paired.text

        async def card():
            response = await client.get(card_url, headers=me)
            assert response.status_code in (200, 404), response.text
            return response if response.status_code == 200 else None

        shown = (await wait_for(card, timeout=30, what="the registry to learn of the pairing")).json()
        assert shown["name"] == "李思雨"
        assert shown["parents"][0]["phone"] == "+8613912345678"
        assert "sensitive_categories" not in shown and "priority_reason" not in shown
        mine = await client.get(f"{registry.base_url}/v1/me/children", headers=me)
        assert [item["name"] for item in mine.json()["items"]] == ["李思雨"]

        ended = await client.post(f"{pairing.base_url}/v1/pairings/{paired.json()['id']}/end", headers=staff(),
                                  json={"reason": "reassigned"})
        assert ended.status_code == 200, ended.text

        async def card_gone():
            return (await client.get(card_url, headers=me)).status_code == 404

        await wait_for(card_gone, timeout=30, what="the registry to learn the pairing ended")
        mine = await client.get(f"{registry.base_url}/v1/me/children", headers=me)
        assert mine.json()["items"] == []

"""A mandatory-report concern raised while notify is stopped reaches the staff on duty
once notify starts: visits commits ConcernRaised with the contact (outbox), Kafka keeps it,
and notify's consumer applies it when it comes back. All four services, real processes."""

from __future__ import annotations

import uuid
from typing import AsyncIterator

import asyncpg
import httpx
import pytest_asyncio

from shared import clock
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer, staff
from tests.support.processes import wait_ready
from tests.support.stack import start_stack, stop_stack
from tests.support.waiting import wait_for

DUTY_OFFICER = "duty-officer-1"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(infra, tmp_path_factory) -> AsyncIterator[dict]:
    services = await start_stack(infra, tmp_path_factory.mktemp("concern-logs"))
    try:
        yield services
    finally:
        stop_stack(services)


async def test_a_concern_raised_while_notify_is_down_reaches_the_duty_officer_after(stack) -> None:
    registry, visits, notify = stack["registry"], stack["visits"], stack["notify"]
    async with httpx.AsyncClient(timeout=10) as client:
        recipient = await client.post(f"{notify.base_url}/v1/staff-recipients", headers=staff(), json={
            "staff_id": DUTY_OFFICER, "jurisdiction": TOWNSHIP, "level": "township"})
        assert recipient.status_code == 201, recipient.text
        notify.worker.stop()  # notify is down from here on

        child = await client.post(f"{registry.base_url}/v1/children", headers=staff(), json={
            "name": "李小花", "gender": "female", "birth_date": "2015-05-01", "school_id": "school-1",
            "jurisdiction": {"county_code": COUNTY, "township_code": TOWNSHIP, "village_code": VILLAGE}})
        assert child.status_code == 201, child.text
        child_id = child.json()["id"]

        contact = {"id": str(uuid.uuid4()), "child_id": child_id, "caregiver_id": str(uuid.uuid4()),
                   "kind": "home_visit", "occurred_at": clock.from_env().now().isoformat(),
                   "concerns": [{"category": "suspected_abuse", "severity": "high", "detail": "见家访记录"}]}

        async def logged():
            response = await client.post(f"{visits.base_url}/v1/contacts", headers=staff(), json=contact)
            return response if response.status_code == 201 else None  # 404 until visits knows the child

        await wait_for(logged, timeout=30, what="visits to accept the contact")

        async def concern_published() -> bool:
            conn = await asyncpg.connect(visits.database_url)
            try:
                return await conn.fetchval("SELECT status FROM outbox WHERE event_type = "
                                           "'cn.shouhu.ConcernRaised.v1'") == "published"
            finally:
                await conn.close()

        await wait_for(concern_published, timeout=30, what="ConcernRaised on Kafka while notify is down")

        notify.worker.start()
        await wait_ready(notify)
        officer = bearer(roles=["township_staff"], jurisdiction=TOWNSHIP, subject=DUTY_OFFICER)

        async def alert():
            response = await client.get(f"{notify.base_url}/v1/notifications", headers=officer)
            items = [n for n in response.json()["items"] if n["event_type"] == "ConcernRaised"] \
                if response.status_code == 200 else []
            return items or None

        [notice] = await wait_for(alert, timeout=60, what="the duty officer's alert after notify restarts")
        assert notice["child_id"] == child_id
        # Staff learn that there is an urgent concern and where to look, not its nature.
        assert "abuse" not in str(notice).lower() and "虐待" not in str(notice)

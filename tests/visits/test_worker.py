"""The real worker process on real Kafka: registry and pairing events (each published
twice) build the projections once; the scheduler announces each overdue level exactly
once across a kill -9 and restart; a concern raised while nobody consumes is on Kafka for
a consumer that starts later."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from services.visits.app import create_app
from shared.contracts import ChildRegistered, PairingCreated, decode
from shared.contracts.events import VISITS_TOPIC
from tests.support.plumbing import produce
from tests.support.processes import ServiceProcess, free_port, service_env
from tests.support.waiting import wait_for
from tests.visits.harness import HERE, caregiver, new_database, now, today, visits_settings

from shared.db import create_pool

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock


async def _read_topic(bootstrap: str, topic: str, group: str | None, until) -> list:  # type: ignore[no-untyped-def]
    """Reads `topic` from the beginning until `until(envelopes)` holds (bounded)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=group)
    await consumer.start()
    envelopes: list = []
    try:
        async def enough():  # type: ignore[no-untyped-def]
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                envelopes.extend(decode(r.headers, r.key, r.value) for r in records)
            return until(envelopes)

        await wait_for(enough, timeout=40, what=f"events on {topic}")
    finally:
        await consumer.stop()
    return envelopes


def _scans_logged(process: ServiceProcess) -> int:
    return process.log_text().count('visits.scan"') + process.log_text().count("visits.scan ")


async def test_worker_applies_events_once_and_announces_overdue_once_across_a_restart(
        infra, topic_prefix, tmp_path: Path) -> None:
    url = await new_database(infra)
    settings = visits_settings(infra, url, topic_prefix)
    child_id, pairing_id, caregiver_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # Paired today: every derived duty is due in the future until the test moves two back.
    started = today(settings)
    await produce(infra.kafka_bootstrap, topic_prefix, [
        ChildRegistered(child_id=child_id, jurisdiction=HERE, school_id="school-1", record_version=1),
    ], times=2)
    await produce(infra.kafka_bootstrap, topic_prefix, [
        PairingCreated(child_id=child_id, pairing_id=pairing_id, caregiver_id=caregiver_id, jurisdiction=HERE,
                       started_on=started)], times=2)
    env = service_env("visits", database_url=url, port=free_port(), kafka=infra.kafka_bootstrap,
                      topic_prefix=topic_prefix, group=f"{topic_prefix}visits",
                      extra={"SHOUHU_VISITS_SCAN_INTERVAL_S": "0.3"})
    worker = ServiceProcess("visits", "worker", env, tmp_path / "visits-worker.log")
    worker.start()
    pool = await create_pool(settings)
    try:
        async def derived():  # type: ignore[no-untyped-def]
            async with pool.acquire() as conn:
                return await conn.fetchval("SELECT count(*) FROM duties WHERE pairing_id = $1", pairing_id)

        await wait_for(derived, timeout=40, what="duties derived from the pairing")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM inbox") == 2  # two events, each delivered twice
            # Pretend two of them fell due long ago: 3 and 20 days late as of today.
            late = await conn.fetch("SELECT id FROM duties WHERE pairing_id = $1 AND duty_kind IN"
                                    " ('home_visit', 'parent_call') ORDER BY duty_kind, due_on LIMIT 2", pairing_id)
            late_ids = [row["id"] for row in late]
            for days, duty_id in zip((3, 20), late_ids):
                await conn.execute("UPDATE duties SET period_start = $2, due_on = $3 WHERE id = $1", duty_id,
                                   today(settings) - timedelta(days=days + 30), today(settings) - timedelta(days=days))

        expected = Counter({(late_ids[0], "caregiver"): 1, (late_ids[1], "caregiver"): 1,
                            (late_ids[1], "school"): 1, (late_ids[1], "county"): 1})

        def overdue(envelopes: list) -> Counter:
            # Distinct event ids: the relay may publish a row again when killed between
            # Kafka's acknowledgement and its own commit (consumers' inboxes absorb that);
            # "exactly once" is one event per duty and level, never a second one.
            distinct = {e.id: e for e in envelopes if e.type == "cn.shouhu.ContactOverdue.v1"}
            return Counter((e.data.duty_id, e.data.escalation_level) for e in distinct.values())

        topic = topic_prefix + VISITS_TOPIC
        await _read_topic(infra.kafka_bootstrap, topic, None, lambda got: overdue(got) == expected)

        worker.kill_hard()
        restarted_at = _scans_logged(worker)
        worker.start()
        await wait_for(lambda: _async(_scans_logged(worker) >= restarted_at + 3), timeout=40,
                       what="three scans after the restart")

        # A concern raised while nobody consumes the visits topic (notify is down).
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                response = await client.post("/v1/contacts", headers=caregiver(caregiver_id), json={
                    "child_id": str(child_id), "caregiver_id": str(caregiver_id), "kind": "home_visit",
                    "occurred_at": now().isoformat(),
                    "concerns": [{"category": "suspected_abuse", "severity": "urgent"}]})
                assert response.status_code == 201, response.text
        contact_id = uuid.UUID(response.json()["id"])

        def has_concern(envelopes: list) -> bool:
            return any(e.type == "cn.shouhu.ConcernRaised.v1" and e.data.contact_id == contact_id for e in envelopes)

        # A consumer (group) that starts only now still receives it, and every overdue
        # level is on the topic exactly once, after the kill -9 and three more scans.
        everything = await _read_topic(infra.kafka_bootstrap, topic, f"{topic_prefix}late-notify", has_concern)
        assert overdue(everything) == expected
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE event_type ="
                                       " 'cn.shouhu.ContactOverdue.v1'") == sum(expected.values())
        [concern] = [e for e in everything if e.type == "cn.shouhu.ConcernRaised.v1"]
        assert concern.data.mandatory_report is True and concern.subject == str(child_id)
    finally:
        worker.stop()
        await pool.close()


async def _async(value):  # type: ignore[no-untyped-def]
    return value

"""The real processes: `python -m services.registry api` takes an upload, `… worker` imports
it (its preparing processes included) and its relay publishes every ChildRegistered to
Kafka, one per imported child."""

from __future__ import annotations

from datetime import date

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from shared.contracts import decode
from shared.contracts.events import REGISTRY_TOPIC
from tests.registry import sheet_files
from tests.registry.helpers import birth_year, staff_headers
from tests.support.databases import drop_database
from tests.support.processes import wait_ready
from tests.support.stack import start_service
from tests.support.waiting import wait_for

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock

ROWS = 600


async def test_worker_imports_an_upload_and_publishes_its_events(infra, topic_prefix, tmp_path) -> None:
    service = await start_service(infra, "registry", topic_prefix=topic_prefix, log_dir=tmp_path,
                                  extra_env={"SHOUHU_REGISTRY_RELAY_POLL_INTERVAL_S": "0.2"})
    try:
        await wait_ready(service)
        rows = [sheet_files.row(name="韩" + "一二三四五六七八九十"[i % 10], national_id=sheet_files.national_id(
            date(birth_year(14), 1 + i // 28 % 12, 1 + i % 28), "male", sequence=i // 336)) for i in range(ROWS)]
        async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
            accepted = await client.post("/v1/imports", headers=staff_headers(), files={
                "file": ("s.xlsx", sheet_files.xlsx(rows), "application/octet-stream")})
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["id"]

            async def done():
                body = (await client.get(f"/v1/imports/{job_id}", headers=staff_headers())).json()
                return body if body["status"] == "done" else None

            job = await wait_for(done, timeout=60, what="the worker's import")
        assert job["rows_imported"] == ROWS, job

        consumer = AIOKafkaConsumer(topic_prefix + REGISTRY_TOPIC, bootstrap_servers=infra.kafka_bootstrap,
                                    auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
        await consumer.start()
        seen: set[str] = set()
        try:
            async def all_published():
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        envelope = decode(record.headers, record.key, record.value)
                        assert envelope.type == "cn.shouhu.ChildRegistered.v1"
                        assert "韩" not in record.value.decode()
                        seen.add(str(envelope.data.child_id))
                return len(seen) >= ROWS

            await wait_for(all_published, timeout=60, what="every ChildRegistered on Kafka")
        finally:
            await consumer.stop()
        conn = await asyncpg.connect(service.database_url)
        try:
            ids = {str(r["id"]) for r in await conn.fetch("SELECT id FROM children")}
        finally:
            await conn.close()
        assert seen == ids
    finally:
        service.api.stop()
        service.worker.stop()
        await drop_database(infra, service.database_url)

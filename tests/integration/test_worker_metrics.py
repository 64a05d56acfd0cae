"""A worker's own /metrics, scraped from a real pairing worker on real PostgreSQL and Kafka
(relay, consumer, lag per partition from the broker, process and pool), and /readyz saying
how old the consumers' figures are: a worker killed -9 shows as stalled, never as lag 0."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from shared import outbox
from shared.consumer import Consumer
from shared.contracts import ChildRegistered, Jurisdiction, PairingCreated
from shared.contracts.events import REGISTRY_TOPIC
from shared.db import create_pool
from shared.lag import LagSampler, progress_report
from shared.worker_metrics import WorkerMetrics
from tests.support.plumbing import child_registered, create_plumbing_database, plumbing_settings, produce
from tests.support.processes import free_port
from tests.support.stack import start_service
from tests.support.waiting import wait_for

PLACE = Jurisdiction(county_code="330102000000", township_code="330102001000", village_code="330102001001")


def _children(n: int) -> list[ChildRegistered]:
    return [ChildRegistered(child_id=uuid.uuid4(), jurisdiction=PLACE, record_version=1) for _ in range(n)]


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [(s.labels, s.value) for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name]


async def test_a_worker_serves_its_metrics_and_readyz_shows_it_stalled_when_killed(infra, topic_prefix, tmp_path) -> None:
    metrics_port = free_port()
    pairing = await start_service(infra, "pairing", topic_prefix=topic_prefix, log_dir=tmp_path, extra_env={
        "SHOUHU_PAIRING_WORKER_METRICS_PORT": str(metrics_port),
        "SHOUHU_PAIRING_LAG_SAMPLE_INTERVAL_S": "1",
        "SHOUHU_PAIRING_PROGRESS_STALE_AFTER_S": "5",
    })
    admin = await asyncpg.connect(pairing.database_url)
    for pg_type in ("json", "jsonb"):
        await admin.set_type_codec(pg_type, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    scrape_url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            async def scrape() -> str:
                try:
                    answer = await client.get(scrape_url)
                except httpx.HTTPError:
                    return ""
                return answer.text if answer.status_code == 200 else ""

            # The worker serves metrics once its topics exist (it creates them, with 6 partitions).
            await wait_for(scrape, timeout=60, interval=0.3, what="the worker's /metrics")
            children = _children(5)
            await produce(infra.kafka_bootstrap, topic_prefix, children, times=2)  # each delivered twice
            async with admin.transaction():
                await outbox.add(admin, PairingCreated(child_id=children[0].child_id, pairing_id=uuid.uuid4(),
                                                       caregiver_id=uuid.uuid4(), jurisdiction=PLACE,
                                                       started_on=date(2026, 1, 5)))

            async def caught_up() -> str:
                text = await scrape()
                applied = sum(v for labels, v in samples(text, "shouhu_consumer_applied_events_total")
                              if labels["consumer"] == "pairing.registry")
                lag = [(labels, v) for labels, v in samples(text, "shouhu_consumer_partition_lag_messages")
                       if labels["consumer"] == "pairing.registry"]
                published = sum(v for _, v in samples(text, "shouhu_relay_published_events_total"))
                return text if applied == 5 and lag and sum(v for _, v in lag) == 0 and published >= 1 else ""

            text = await wait_for(caught_up, timeout=90, interval=0.5, what="the worker's metrics to catch up")
            lag = samples(text, "shouhu_consumer_partition_lag_messages")
            registry_topic = topic_prefix + REGISTRY_TOPIC
            assert {labels["partition"] for labels, _ in lag if labels["topic"] == registry_topic} == \
                {str(p) for p in range(6)}, "lag per partition, every partition of the topic"
            assert samples(text, "shouhu_consumer_lag_sampled_timestamp_seconds")
            assert samples(text, "process_resident_memory_bytes")[0][1] > 0
            assert samples(text, "shouhu_db_pool_connections")[0][1] >= 1
            assert samples(text, "shouhu_db_pool_max_connections")[0][1] >= 1
            assert (await client.get(f"http://127.0.0.1:{metrics_port}/readyz")).status_code == 404

            ready = (await client.get(f"{pairing.base_url}/readyz")).json()
            assert ready["workers"] == "ok" and ready["consumer_lag"] == 0
            assert ready["consumers"]["pairing.registry"]["state"] == "ok"
            assert ready["consumers"]["pairing.registry"]["reported_s_ago"] < 5

            pairing.worker.kill_hard()
            await produce(infra.kafka_bootstrap, topic_prefix, _children(3))

            # Each consumer reports on its own beat: `workers` says stalled as soon as the first
            # one's report is past 5 s, and the registry's may still be a moment fresher.
            async def stalled() -> dict:
                body = (await client.get(f"{pairing.base_url}/readyz")).json()
                registry_consumer = body["consumers"].get("pairing.registry", {})
                return body if body["workers"] == "stalled" and registry_consumer.get("state") == "stalled" else {}

            body = await wait_for(stalled, timeout=30, interval=0.5, what="readyz to call the worker stalled")
            assert body["consumer_lag"] is None, "a worker that stopped reporting is never 'lag 0'"
            assert body["consumers"]["pairing.registry"]["state"] == "stalled"
            # stalled past 5 s; the age is rounded to a tenth, so 5.04 s reads 5.0
            assert body["consumer_lag_reported_s_ago"] >= 5
            api_metrics = (await client.get(f"{pairing.base_url}/metrics")).text
            [(_, total)] = samples(api_metrics, "shouhu_consumer_lag_messages")
            assert total != total, "the api's total lag is unknown (NaN) while the worker is stalled"
    finally:
        pairing.api.stop()
        pairing.worker.stop()
        await admin.close()


async def test_lag_comes_from_the_broker_even_for_a_consumer_that_never_ran(infra, topic_prefix) -> None:
    url = await create_plumbing_database(infra)
    settings = plumbing_settings(infra, url, topic_prefix, lag_sample_interval_s=0.3)
    pool = await create_pool(settings)
    consumer = Consumer(settings, pool, name="idle", topics=(REGISTRY_TOPIC,), handlers={})
    metrics = WorkerMetrics("plumbing")
    async with pool.acquire() as conn:
        silent = await progress_report(conn, stale_after_s=60)
    assert (silent["workers"], silent["consumer_lag"]) == ("never_reported", None), "no report is not 'lag 0'"
    sampler = asyncio.create_task(LagSampler(settings, pool, [consumer], metrics).run())
    try:
        await produce(infra.kafka_bootstrap, topic_prefix, [child_registered(uuid.uuid4()) for _ in range(4)])

        async def reported() -> dict:
            async with pool.acquire() as conn:
                report = await progress_report(conn, stale_after_s=60)
            return report if report["consumer_lag"] == 4 else {}

        report = await wait_for(reported, timeout=60, interval=0.3, what="the broker's lag in consumer_progress")
        assert report["workers"] == "ok" and report["consumers"]["idle"]["state"] == "ok"
        scraped = samples(metrics.exposition().decode(), "shouhu_consumer_partition_lag_messages")
        assert sum(v for _, v in scraped) == 4
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
        await pool.close()

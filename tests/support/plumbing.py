"""Helpers for testing the shared plumbing directly: a database with only the shared
migrations plus an `effects` table, a counting handler, and Kafka produce/collect."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.consumer import DependencyMissing
from shared.contracts import ChildRegistered, ChildUpdated, Envelope, Event, Jurisdiction, encode
from shared.migrations import migrate
from shared.settings import ServiceSettings
from tests.support.databases import create_database
from tests.support.infra import Infrastructure

EFFECTS_DIR = Path(__file__).parent / "plumbing_migrations"


async def create_plumbing_database(infra: Infrastructure) -> str:
    url = await create_database(infra, "plumbing")
    await migrate(url, "plumbing", EFFECTS_DIR)
    return url


def plumbing_settings(infra: Infrastructure, database_url: str, topic_prefix: str, **overrides) -> ServiceSettings:
    values = dict(service_name="plumbing", database_url=database_url, kafka_bootstrap_servers=infra.kafka_bootstrap,
                  kafka_topic_prefix=topic_prefix, consumer_group=f"{topic_prefix}group",
                  relay_poll_interval_s=0.2, consumer_retry_base_s=0.01, consumer_max_attempts=3,
                  consumer_parked_retry_interval_s=0.2, kafka_topic_partitions=3)
    values.update(overrides)
    return ServiceSettings(**values)


def child_registered(child_id, version: int = 1) -> ChildRegistered:  # type: ignore[no-untyped-def]
    return ChildRegistered(child_id=child_id, record_version=version,
                           jurisdiction=Jurisdiction(county_code="330102000000", township_code="330102001000"))


def child_updated(child_id, version: int = 2) -> ChildUpdated:  # type: ignore[no-untyped-def]
    return ChildUpdated(child_id=child_id, record_version=version,
                        jurisdiction=Jurisdiction(county_code="330102000000", township_code="330102001000"))


class CountingHandlers:
    """Handlers whose effect is a plain INSERT with no unique key: applied twice, counted twice."""

    def __init__(self) -> None:
        self.poison_children: set = set()

    async def on_child_registered(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        if envelope.data.child_id in self.poison_children:
            raise RuntimeError("handler bug")
        await conn.execute("INSERT INTO effects (event_id, child_id, kind) VALUES ($1, $2, 'registered')",
                           envelope.id, envelope.data.child_id)

    async def on_child_updated(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        known = await conn.fetchval("SELECT true FROM effects WHERE child_id = $1 AND kind = 'registered'",
                                    envelope.data.child_id)
        if not known:
            raise DependencyMissing("child not registered yet")
        await conn.execute("INSERT INTO effects (event_id, child_id, kind) VALUES ($1, $2, 'updated')",
                           envelope.id, envelope.data.child_id)

    def handler_map(self) -> dict:
        return {ChildRegistered: self.on_child_registered, ChildUpdated: self.on_child_updated}


async def produce(bootstrap: str, topic_prefix: str, events: Iterable[Event], *, times: int = 1,
                  raw: Iterable[tuple[str, bytes, list[tuple[str, bytes]], bytes]] = ()) -> int:
    """Publishes each event `times` times (same id: a redelivery). Returns messages sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    sent = 0
    try:
        for topic, key, headers, value in raw:
            await producer.send_and_wait(topic_prefix + topic, value=value, key=key, headers=headers)
            sent += 1
        for event in events:
            encoded = encode(event)
            headers = [(k, v.encode()) for k, v in encoded.headers.items()]
            for _ in range(times):
                await producer.send_and_wait(topic_prefix + encoded.topic, value=encoded.value,
                                             key=encoded.key.encode(), headers=headers)
                sent += 1
    finally:
        await producer.stop()
    return sent


async def committed_total(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT coalesce(sum(committed_offset), 0) FROM consumer_progress")
    finally:
        await conn.close()


async def fetch(database_url: str, query: str, *args) -> list[asyncpg.Record]:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


class TopicReader:
    """Reads a topic from the beginning, collecting CloudEvent ids."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                          enable_auto_commit=False, group_id=None)
        self.event_ids: list[str] = []

    async def __aenter__(self) -> "TopicReader":
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc_info) -> None:  # type: ignore[no-untyped-def]
        await self._consumer.stop()

    async def poll(self) -> list[str]:
        batch = await self._consumer.getmany(timeout_ms=200)
        for records in batch.values():
            for record in records:
                self.event_ids.append(dict(record.headers)["ce_id"].decode())
        return self.event_ids

"""Building contract events and delivering them to notify's handlers, as the consumer would."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from services.notify.config import NotifySettings
from services.notify.handlers import build_handlers
from shared import clock
from shared.consumer import Consumer, RawRecord
from shared.contracts import CaregiverEnrolled, ChildRegistered, Envelope, Event, Jurisdiction, encode

COUNTY = "330102000000"
TOWNSHIP = "330102001000"
VILLAGE = "330102001001"
J = Jurisdiction(county_code=COUNTY, township_code=TOWNSHIP, village_code=VILLAGE)


def envelope(event: Event, event_id: uuid.UUID | None = None) -> Envelope:
    return Envelope(id=event_id or uuid.uuid4(), type=event.cloudevent_type(), source=event.source,
                    subject=event.partition_key(), time=clock.from_env().now(), data=event)


def child(child_id: uuid.UUID | None = None, version: int = 1, school_id: str | None = "school-1",
          jurisdiction: Jurisdiction = J) -> ChildRegistered:
    return ChildRegistered(child_id=child_id or uuid.uuid4(), jurisdiction=jurisdiction, school_id=school_id,
                           record_version=version)


async def handle(pool: asyncpg.Pool, settings: NotifySettings, env: Envelope, *, times: int = 2) -> None:
    """Runs the handler `times` times, each in its own transaction and without the inbox: every
    test thereby also proves the handler's own idempotence under redelivery."""
    handler = build_handlers(settings)[type(env.data)]
    for _ in range(times):
        async with pool.acquire() as conn:
            async with conn.transaction():
                await handler(conn, env)


async def enrol(pool: asyncpg.Pool, settings: NotifySettings, caregiver_id: uuid.UUID,
                channels: tuple[str, ...] = ()) -> None:
    """Notify's copy of a caregiver, as pairing's CaregiverEnrolled gives it (notices for a
    caregiver notify does not know yet wait for it)."""
    await handle(pool, settings, envelope(CaregiverEnrolled(caregiver_id=caregiver_id, kind="volunteer", jurisdiction=J,
                                                            capacity=2, channels=channels, record_version=1)))


async def consume(pool: asyncpg.Pool, settings: NotifySettings, event: Event, *, event_id: uuid.UUID,
                  times: int = 2) -> None:
    """Delivers the same Kafka record `times` times through the real consumer (inbox included)."""
    consumer = Consumer(settings, pool, name="notify.events", topics=(), handlers=build_handlers(settings))
    encoded = encode(event, event_id=event_id)
    record = RawRecord(encoded.topic, 0, 0, encoded.key.encode(),
                       [(k, v.encode()) for k, v in encoded.headers.items()], encoded.value)
    for _ in range(times):
        await consumer.process(record)


async def rows(pool: asyncpg.Pool, query: str, *args: Any) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(query, *args)


def today() -> date:
    return date(2026, 12, 1)

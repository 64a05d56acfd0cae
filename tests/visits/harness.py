"""Helpers for the visits tests: a migrated database, the app in-process, events
delivered through the real consumer's inbox path, and the outbox read back."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, AsyncIterator

import asyncpg
import httpx

from services.visits.app import create_app
from services.visits.config import VisitsSettings
from services.visits.handlers import build_handlers
from shared.consumer import Consumer, RawRecord
from shared.contracts import (
    ChildRegistered, ChildUpdated, Event, Jurisdiction, PairingCreated, PairingEnded, decode, encode,
)
from shared.db import create_pool
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer
from tests.support.databases import create_migrated_database
from tests.support.infra import Infrastructure

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "visits" / "migrations"
HERE = Jurisdiction(county_code=COUNTY, township_code=TOWNSHIP, village_code=VILLAGE)
OTHER_TOWNSHIP = "330102002000"
ELSEWHERE = Jurisdiction(county_code=COUNTY, township_code=OTHER_TOWNSHIP, village_code="330102002001")


def visits_settings(infra: Infrastructure, database_url: str, topic_prefix: str = "tvisits.", **overrides: Any
                    ) -> VisitsSettings:
    values: dict[str, Any] = dict(database_url=database_url, kafka_bootstrap_servers=infra.kafka_bootstrap,
                                  kafka_topic_prefix=topic_prefix, consumer_group=f"{topic_prefix}visits",
                                  consumer_retry_base_s=0.01, consumer_max_attempts=2, scan_batch_size=7,
                                  allow_future_scans=True)
    values.update(overrides)
    return VisitsSettings(**values)


async def new_database(infra: Infrastructure) -> str:
    return await create_migrated_database(infra, "visits", MIGRATIONS)


def record_of(event: Event, event_id: uuid.UUID | None = None) -> RawRecord:
    encoded = encode(event, event_id=event_id)
    return RawRecord(topic=encoded.topic, partition=0, offset=0, key=encoded.key.encode(),
                     headers=[(k, v.encode()) for k, v in encoded.headers.items()], value=encoded.value)


class Harness:
    """One database, the app in-process and a consumer whose `process` runs the inbox path."""

    def __init__(self, settings: VisitsSettings, pool: asyncpg.Pool, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.pool = pool
        self.client = client
        self.consumer = Consumer(settings, pool, name="visits.test", topics=(), handlers=build_handlers(settings))

    async def deliver(self, event: Event, *, times: int = 2) -> None:
        """Delivers the same event (same id) `times` times: redelivery must be a no-op."""
        record = record_of(event, uuid.uuid4())
        for _ in range(times):
            await self.consumer.process(record)

    async def child(self, *, jurisdiction: Jurisdiction = HERE, priority: bool = False, version: int = 1,
                    school_id: str | None = "school-1", status: str = "active") -> uuid.UUID:
        child_id = uuid.uuid4()
        await self.deliver(ChildRegistered(child_id=child_id, jurisdiction=jurisdiction, priority=priority,
                                           record_version=version, school_id=school_id, status=status))
        return child_id

    async def update_child(self, child_id: uuid.UUID, version: int, **facts: Any) -> None:
        facts.setdefault("jurisdiction", HERE)
        facts.setdefault("school_id", "school-1")
        await self.deliver(ChildUpdated(child_id=child_id, record_version=version, **facts))

    async def pair(self, child_id: uuid.UUID, caregiver_id: uuid.UUID | None = None, *, role: str = "lead",
                   started_on: date | None = None, jurisdiction: Jurisdiction = HERE) -> tuple[uuid.UUID, uuid.UUID]:
        caregiver_id = caregiver_id or uuid.uuid4()
        pairing_id = uuid.uuid4()
        await self.deliver(PairingCreated(child_id=child_id, pairing_id=pairing_id, caregiver_id=caregiver_id,
                                          role=role, jurisdiction=jurisdiction,
                                          started_on=started_on or today(self.settings)))
        return pairing_id, caregiver_id

    async def end_pairing(self, child_id: uuid.UUID, pairing_id: uuid.UUID, caregiver_id: uuid.UUID,
                          ended_on: date) -> None:
        await self.deliver(PairingEnded(child_id=child_id, pairing_id=pairing_id, caregiver_id=caregiver_id,
                                        jurisdiction=HERE, ended_on=ended_on, reason="reassigned"))

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return await conn.fetch(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(query, *args)

    async def events(self, event_type: str, **match: Any) -> list[Any]:
        """Events of one type in the outbox (decoded), optionally matching data fields."""
        rows = await self.fetch(
            "SELECT headers, message_key, payload::text AS payload FROM outbox WHERE event_type = $1 ORDER BY id",
            f"cn.shouhu.{event_type}.v1")
        found = []
        for row in rows:
            envelope = decode({k: v.encode() for k, v in row["headers"].items()}, row["message_key"].encode(),
                              row["payload"].encode())
            if all(getattr(envelope.data, key) == value for key, value in match.items()):
                found.append(envelope.data)
        return found

    async def scan(self, as_of: date) -> dict:
        response = await self.client.post("/v1/admin/scans", json={"as_of": as_of.isoformat()},
                                          headers=national_admin())
        assert response.status_code == 200, response.text
        return response.json()


def today(settings: VisitsSettings) -> date:
    """The county's today on the settings' clock (moved by SHOUHU_CLOCK_* or by a test)."""
    return settings.clock.today()


def now(settings: VisitsSettings | None = None) -> datetime:
    return (settings or VisitsSettings()).clock.now()


def earlier_today(hours: float, settings: VisitsSettings | None = None) -> datetime:
    """`hours` before now, but not before the county's midnight: a pairing that starts today
    covers it at any hour of the day (at 01:00, "three hours ago" is yesterday)."""
    clock = (settings or VisitsSettings()).clock
    return max(clock.now() - timedelta(hours=hours), clock.start_of(clock.today()))


def admin() -> dict[str, str]:
    return bearer(roles=["admin"], jurisdiction=COUNTY, subject="it-admin")


def national_admin() -> dict[str, str]:
    """A scan covers every county: only an administrator with the national scope starts one."""
    return bearer(roles=["admin"], jurisdiction="000000000000", subject="national-it-admin")


def county_staff(*, sensitive: bool = False, jurisdiction: str = COUNTY) -> dict[str, str]:
    return bearer(roles=["county_staff"], jurisdiction=jurisdiction, subject="county-officer",
                  permissions=["view_sensitive"] if sensitive else [])


def township_staff(jurisdiction: str = TOWNSHIP, *, sensitive: bool = False) -> dict[str, str]:
    return bearer(roles=["township_staff"], jurisdiction=jurisdiction, subject="township-officer",
                  permissions=["view_sensitive"] if sensitive else [])


def caregiver(caregiver_id: uuid.UUID) -> dict[str, str]:
    return bearer(roles=["caregiver"], jurisdiction=TOWNSHIP, caregiver_id=str(caregiver_id),
                  subject=f"cg-{caregiver_id}")


async def open_harness(infra: Infrastructure, **overrides: Any) -> AsyncIterator[Harness]:
    url = await new_database(infra)
    settings = visits_settings(infra, url, **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pool = await create_pool(settings)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                yield Harness(settings, pool, client)
        finally:
            await pool.close()

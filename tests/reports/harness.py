"""What the reports' tests share: the app in-process on a fresh migrated database, events
delivered (twice) through the real consumer path with the time each took effect, and
events that tell a small county's story."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from services.reports.app import create_app
from services.reports.config import ReportsSettings
from services.reports.entry import ENTRY
from services.reports.handlers import HANDLERS
from services.reports.owner_names import OwnerNames
from services.reports.place_names import PlaceNames
from shared.consumer import Consumer, RawRecord
from shared.contracts import Event, Jurisdiction, encode
from tests.support.auth import bearer
from tests.support.databases import create_migrated_database, drop_database
from tests.support.infra import Infrastructure

CHINA = ZoneInfo("Asia/Shanghai")
COUNTY = "330102000000"
TOWNSHIP_A = "330102001000"
TOWNSHIP_B = "330102002000"


def place(township: str, village: int = 1) -> Jurisdiction:
    return Jurisdiction(county_code=COUNTY, township_code=township, village_code=township[:9] + f"{village:03d}")


def at(day: date, hour: int = 10) -> datetime:
    """A moment on a county's day."""
    return datetime.combine(day, time(hour), tzinfo=CHINA)


def staff(jurisdiction: str = COUNTY, role: str = "county_staff") -> dict[str, str]:
    return bearer(roles=[role], jurisdiction=jurisdiction, subject=f"{role}-{jurisdiction}")


@dataclass
class Harness:
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    settings: ReportsSettings
    _offsets: itertools.count
    delivered: int = 0

    async def deliver(self, event: Event, when: datetime, *, times: int = 2) -> uuid.UUID:
        """Through the consumer's real path (decode → inbox → handler, one transaction),
        `times` times with the same event id: a redelivery. `when` is the envelope's time."""
        event_id = uuid.uuid4()
        encoded = encode(event, event_id=event_id, time=when)
        loop = Consumer(self.settings, self.pool, name="reports.test", topics=(encoded.topic,), handlers=HANDLERS)
        record = RawRecord(topic=encoded.topic, partition=0, offset=next(self._offsets), key=encoded.key.encode(),
                           headers=[(k, v.encode()) for k, v in encoded.headers.items()], value=encoded.value)
        for _ in range(times):
            await loop.process(record)
        self.delivered += 1
        return event_id

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return await conn.fetch(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(query, *args)

    async def summary(self, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
        return await self.client.get("/v1/summary", params=params, headers=headers or staff())

    async def ledger(self, kind: str, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
        return await self.client.get(f"/v1/ledgers/{kind}", params=params, headers=headers or staff())


async def start_harness(infra: Infrastructure, *, place_names: PlaceNames | None = None,
                        owner_names: OwnerNames | None = None, county_name: str = "示例县") -> AsyncIterator[Harness]:
    """Without `place_names`, the registry is out of reach (a closed port): documents print
    codes; without `owner_names`, so are registry and pairing: ledgers cannot be named."""
    url = await create_migrated_database(infra, "reports", ENTRY.migrations_dir)
    settings = ReportsSettings(database_url=url, kafka_bootstrap_servers=infra.kafka_bootstrap,
                               consumer_retry_base_s=0.01, consumer_max_attempts=2, county_name=county_name,
                               registry_base_url="http://127.0.0.1:9", pairing_base_url="http://127.0.0.1:9",
                               place_names_timeout_s=2)
    app = create_app(settings, place_names=place_names, owner_names=owner_names)
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                         timeout=120) as client:
                yield Harness(client, app.state.pool, settings, itertools.count())
    finally:
        await drop_database(infra, url)


def day_after(day: date, days: int = 1) -> date:
    return day + timedelta(days=days)

"""What pairing's tests share: the app in-process on a fresh migrated database, events
delivered through the real consumer path (inbox included) without Kafka, tokens, places."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator

import asyncpg
import httpx

from services.pairing.app import create_app
from services.pairing.config import PairingSettings
from services.pairing.entry import ENTRY
from services.pairing.handlers import all_handlers
from shared.consumer import Consumer, RawRecord
from shared.contracts import (
    ChildClosed, ChildRegistered, ChildTransferred, Event, Jurisdiction, encode,
)
from tests.support.auth import bearer
from tests.support.databases import create_migrated_database, drop_database
from tests.support.infra import Infrastructure

COUNTY = "330102000000"
_townships = itertools.count(1)


@dataclass(frozen=True)
class Place:
    """A fresh township (and one of its villages) per test, so tests sharing a database
    never see each other's children in a queue or a statistic."""

    township: str
    village: str

    @classmethod
    def fresh(cls) -> "Place":
        number = next(_townships)
        township = f"330102{number:03d}000"
        return cls(township, township[:9] + "001")

    def jurisdiction(self, *, village: bool = True) -> Jurisdiction:
        return Jurisdiction(county_code=COUNTY, township_code=self.township,
                            village_code=self.village if village else None)

    def body(self, *, village: bool = True) -> dict[str, Any]:
        return self.jurisdiction(village=village).model_dump()


def staff(jurisdiction: str = COUNTY, *, roles: tuple[str, ...] | list[str] = ("county_staff",),
          **kwargs: Any) -> dict[str, str]:
    return bearer(roles=list(roles), jurisdiction=jurisdiction, **kwargs)


def caregiver_token(caregiver_id: str, jurisdiction: str = COUNTY) -> dict[str, str]:
    return bearer(roles=["caregiver"], jurisdiction=jurisdiction, caregiver_id=caregiver_id,
                  subject=f"caregiver-{caregiver_id}")


def service_token(jurisdiction: str = COUNTY) -> dict[str, str]:
    return bearer(roles=["service"], jurisdiction=jurisdiction, subject="notify")


@dataclass
class Harness:
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    database_url: str
    settings: PairingSettings
    _offsets: itertools.count

    async def deliver(self, event: Event, *, times: int = 2, consumer: str = "pairing.registry") -> None:
        """Through the consumer's real path (decode → inbox → handler, one transaction),
        `times` times with the same event id: a redelivery."""
        encoded = encode(event)
        loop = Consumer(self.settings, self.pool, name=consumer, topics=(encoded.topic,),
                        handlers=all_handlers(self.settings.clock))
        record = RawRecord(topic=encoded.topic, partition=0, offset=next(self._offsets), key=encoded.key.encode(),
                           headers=[(k, v.encode()) for k, v in encoded.headers.items()], value=encoded.value)
        for _ in range(times):
            await loop.process(record)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return await conn.fetch(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(query, *args)

    async def outbox(self, event_type: str) -> list[dict[str, Any]]:
        rows = await self.fetch("SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id",
                                f"cn.shouhu.{event_type}.v1")
        return [row["payload"] for row in rows]

    # -- making things ------------------------------------------------------------------------

    async def child(self, place: Place, *, priority: bool = False, school_id: str | None = None,
                    village: bool = True) -> uuid.UUID:
        child_id = uuid.uuid4()
        await self.deliver(ChildRegistered(child_id=child_id, jurisdiction=place.jurisdiction(village=village),
                                           school_id=school_id, priority=priority, age_band="6-11",
                                           record_version=1))
        return child_id

    async def caregiver(self, place: Place, *, kind: str = "teacher", school_id: str | None = None,
                        capacity: int | None = None, village: bool = False, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": kind, "jurisdiction": place.body(village=village), **extra}
        if school_id is not None:
            body["school_id"] = school_id
        if capacity is not None:
            body["capacity"] = capacity
        response = await self.client.post("/v1/caregivers", json=body, headers=staff())
        assert response.status_code == 201, response.text
        return response.json()

    async def pair(self, child_id: uuid.UUID, caregiver_id: str, *, role: str = "lead") -> httpx.Response:
        return await self.client.post("/v1/pairings", headers=staff(),
                                      json={"child_id": str(child_id), "caregiver_id": caregiver_id, "role": role})


def closed(child_id: uuid.UUID, place: Place, version: int) -> ChildClosed:
    return ChildClosed(child_id=child_id, jurisdiction=place.jurisdiction(), status="closed",
                       record_version=version, reason="parents_returned", age_band="6-11")


def transferred(child_id: uuid.UUID, old: Place, new: Place, version: int,
                *, school_id: str | None = None, from_school_id: str | None = None) -> ChildTransferred:
    return ChildTransferred(child_id=child_id, jurisdiction=new.jurisdiction(), from_jurisdiction=old.jurisdiction(),
                            school_id=school_id, from_school_id=from_school_id, record_version=version,
                            age_band="6-11")


async def start_harness(infra: Infrastructure, *, child_resolver: Any = None) -> AsyncIterator[Harness]:
    """`child_resolver`: who says which child a sheet's 身份证号 or 姓名+出生日期 is (a client
    of an in-process registry, test_aid_sheets_by_identity.py)."""
    url = await create_migrated_database(infra, "pairing", ENTRY.migrations_dir)
    settings = PairingSettings(database_url=url, kafka_bootstrap_servers=infra.kafka_bootstrap,
                               consumer_retry_base_s=0.01, consumer_max_attempts=2)
    app = create_app(settings, child_resolver=child_resolver)
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                         timeout=60) as client:
                yield Harness(client, app.state.pool, url, settings, itertools.count())
    finally:
        await drop_database(infra, url)

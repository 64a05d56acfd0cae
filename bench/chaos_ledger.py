"""The chaos run's client side: a steady load of registrations and contacts through the
public APIs, a ledger of every acknowledged write, and the checks that every one of them
exists once in its service and reached every consumer once.

Each logical write has its own Idempotency-Key (children) or client-chosen id (contacts) and
is sent again with the same one until it is acknowledged (2xx), as a careful client does
after a 503. Every answer is recorded; anything but a 2xx or a 503 with Retry-After (a 500,
a dropped connection) is a violation.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from services.demo import COUNTY, _child_body
from shared import clock as clocks
from shared.auth import issue_dev_token
from shared.contracts import ChildRegistered, VisitLogged
from shared.settings import AuthSettings

SERVICES = ("registry", "pairing", "visits", "notify", "reports")


@dataclass
class Ledger:
    children: dict[str, str] = field(default_factory=dict)  # Idempotency-Key → child id, once acknowledged
    contacts: set[str] = field(default_factory=set)  # contact ids acknowledged
    answers: Counter[str] = field(default_factory=Counter)  # "201", "503+retry-after", "ConnectError", …
    violations: list[str] = field(default_factory=list)  # when and what, for anything but 2xx / 503+Retry-After

    def acked(self) -> int:
        return len(self.children) + len(self.contacts)

    def snapshot(self) -> tuple[list[str], list[str]]:
        return list(self.children.values()), list(self.contacts)


class Load:
    """`rate` logical writes a second, alternately a child's registration and a contact."""

    def __init__(self, urls: dict[str, str], pairs: list[tuple[str, str]], ledger: Ledger, *, rate: float) -> None:
        self._urls = urls
        self._pairs = pairs
        self._ledger = ledger
        self._rate = rate
        self._rng = random.Random(11)
        self._stop = asyncio.Event()
        token = issue_dev_token(AuthSettings(), subject="chaos-load", roles=["county_staff"], jurisdiction=COUNTY)
        self._headers = {"Authorization": f"Bearer {token}"}
        self.in_flight: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        # A new connection per request: reusing one the server is closing as idle (keep-alive)
        # fails on the client's side, and would be taken for a dropped request.
        async with httpx.AsyncClient(timeout=20, headers=self._headers,
                                     limits=httpx.Limits(max_keepalive_connections=0)) as client:
            n = 0
            while not self._stop.is_set():
                write = self._register(client, n) if n % 2 == 0 else self._contact(client, n)
                task = asyncio.create_task(write)
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                n += 1
                await asyncio.sleep(1 / self._rate)
            if self.in_flight:  # every write started is seen through to its acknowledgement
                await asyncio.wait(set(self.in_flight), timeout=120)

    def stop(self) -> None:
        self._stop.set()

    async def _register(self, client: httpx.AsyncClient, n: int) -> None:
        key = f"chaos-child-{uuid.uuid4()}"
        body = _child_body(n, self._rng)
        answer = await self._until_acked(client, f"{self._urls['registry']}/v1/children", body, {"Idempotency-Key": key})
        self._ledger.children[key] = answer["id"]

    async def _contact(self, client: httpx.AsyncClient, n: int) -> None:
        child_id, caregiver_id = self._pairs[n % len(self._pairs)]
        contact_id = str(uuid.uuid4())
        occurred = clocks.from_env().now() - timedelta(hours=1 + n % 48)  # the services' clock
        body = {"id": contact_id, "child_id": child_id, "caregiver_id": caregiver_id, "kind": "talk",
                "occurred_at": occurred.isoformat()}
        await self._until_acked(client, f"{self._urls['visits']}/v1/contacts", body, {})
        self._ledger.contacts.add(contact_id)

    async def _until_acked(self, client: httpx.AsyncClient, url: str, body: dict[str, Any],
                           headers: dict[str, str]) -> Any:
        while True:
            try:
                response = await client.post(url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                self._record(type(exc).__name__, url)
                await asyncio.sleep(1)
                continue
            if 200 <= response.status_code < 300:
                self._ledger.answers[str(response.status_code)] += 1
                return response.json()
            if response.status_code == 503 and response.headers.get("Retry-After"):
                self._ledger.answers["503+retry-after"] += 1
                await asyncio.sleep(min(float(response.headers["Retry-After"]), 5))
                continue
            self._record(str(response.status_code), url)
            await asyncio.sleep(1)

    def _record(self, what: str, url: str) -> None:
        self._ledger.answers[what] += 1
        self._ledger.violations.append(f"{time.strftime('%H:%M:%S')} {url.rsplit('/', 1)[-1]}: {what}")


@dataclass
class Findings:
    lost: int  # acknowledged, but missing in its service or at a consumer
    duplicated: int  # more than once in its service or its outbox
    pending_outbox: int
    detail: list[str]

    @property
    def converged(self) -> bool:
        """Every write of the snapshot in place, once, everywhere. Pending outbox rows count
        only at the end: under load there are always a few, of writes newer than the snapshot."""
        return self.lost == 0 and self.duplicated == 0


class Checker:
    """Reads each service's database (the harness's own connection, not the services')."""

    def __init__(self, database_urls: dict[str, str], consumers: dict[str, list[Any]]) -> None:
        self._urls = database_urls
        self._consumers = consumers  # service → its Consumer objects (names, topics, handled events)

    async def baseline(self) -> dict[str, int]:
        async with _connected(self._urls["registry"]) as registry, _connected(self._urls["visits"]) as visits:
            return {"children": await registry.fetchval("SELECT count(*) FROM children"),
                    "contacts": await visits.fetchval("SELECT count(*) FROM contacts")}

    async def check(self, children: list[str], contacts: list[str], baseline: dict[str, int],
                    *, final: bool) -> Findings:
        detail: list[str] = []
        lost = duplicated = pending = 0
        async with _connected(self._urls["registry"]) as registry:
            found = await registry.fetchval("SELECT count(*) FROM children WHERE id = ANY($1::uuid[])", children)
            registered = await registry.fetch(
                "SELECT event_id FROM outbox WHERE event_type = $1 AND message_key = ANY($2::text[])",
                ChildRegistered.cloudevent_type(), children)
            if final:  # while the load runs, writes not yet acknowledged are in the table too
                extra = await registry.fetchval("SELECT count(*) FROM children") - baseline["children"] - len(children)
                duplicated += max(extra, 0)
        lost += len(children) - found
        duplicated += max(len(registered) - len(children), 0)
        async with _connected(self._urls["visits"]) as visits:
            found = await visits.fetchval("SELECT count(*) FROM contacts WHERE id = ANY($1::uuid[])", contacts)
            logged = await visits.fetch(
                "SELECT event_id FROM outbox WHERE event_type = $1 AND payload->>'contact_id' = ANY($2::text[])",
                VisitLogged.cloudevent_type(), contacts)
            if final:
                extra = await visits.fetchval("SELECT count(*) FROM contacts") - baseline["contacts"] - len(contacts)
                duplicated += max(extra, 0)
        lost += len(contacts) - found
        duplicated += max(len(logged) - len(contacts), 0)
        events = {ChildRegistered: [r["event_id"] for r in registered], VisitLogged: [r["event_id"] for r in logged]}
        for service in SERVICES:
            async with _connected(self._urls[service]) as conn:
                pending += await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'")
                for consumer in self._consumers[service]:
                    for kind, ids in events.items():
                        if kind not in consumer.handled_events or not ids:
                            continue
                        reached = await conn.fetchval(
                            "SELECT count(*) FROM inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
                            consumer.name, ids)
                        if reached < len(ids):
                            lost += len(ids) - reached
                            detail.append(f"{consumer.name}: {len(ids) - reached} {kind.name} not applied")
        return Findings(lost=lost, duplicated=duplicated, pending_outbox=pending, detail=detail)


class _connected:
    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._conn = await asyncpg.connect(self._url, timeout=5)
        return self._conn

    async def __aexit__(self, *_exc: object) -> None:
        assert self._conn is not None
        await self._conn.close()


async def paired_children(visits_url: str, limit: int = 200) -> list[tuple[str, str]]:
    """(child, lead caregiver) pairs visits already knows: contacts for them are accepted."""
    async with _connected(visits_url) as conn:
        rows = await conn.fetch(
            "SELECT child_id::text, caregiver_id::text FROM pairings WHERE role = 'lead' AND ended_on IS NULL"
            " ORDER BY id LIMIT $1", limit)
    return [(row["child_id"], row["caregiver_id"]) for row in rows]

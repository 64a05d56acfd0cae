"""A request that fails because the database is away answers 503 with Retry-After, never a
500: the registry in-process, talking to the real PostgreSQL through a proxy the test cuts
(refused and reset connections), and with its backends terminated (pg_terminate_backend).
A create retried with the same Idempotency-Key after the outage applies once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from services.registry.app import create_app
from services.registry.config import RegistrySettings
from tests.registry.helpers import child_body, staff_headers
from tests.support.databases import create_migrated_database
from tests.support.tcp_proxy import TcpProxy

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "registry" / "migrations"


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@127.0.0.1:{port}"))


async def test_requests_during_a_database_outage_answer_503_and_a_retry_applies_once(infra) -> None:
    url = await create_migrated_database(infra, "registry", MIGRATIONS)
    target = urlsplit(url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.open()
    settings = RegistrySettings(database_url=_through(url, proxy.port), kafka_bootstrap_servers=infra.kafka_bootstrap,
                                pool_acquire_timeout_s=1.0, pool_min_size=1, pool_max_size=4)
    app = create_app(settings)
    key = str(uuid.uuid4())
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                         base_url="http://t", timeout=30) as client:
                async def create(idempotency_key: str | None = None) -> httpx.Response:
                    headers = staff_headers() | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
                    return await client.post("/v1/children", json=child_body(), headers=headers)

                assert (await create()).status_code == 201

                await proxy.cut()  # open connections reset, new ones refused
                during = [await create(key), await create(),
                          await client.get("/v1/children", headers=staff_headers())]
                assert [r.status_code for r in during] == [503, 503, 503], [r.text for r in during]
                assert all(r.headers.get("Retry-After") for r in during)

                await proxy.open()
                first = await create(key)
                again = await create(key)
                assert first.status_code == 201 and again.status_code == 201, (first.text, again.text)
                assert first.json()["id"] == again.json()["id"]

                # The pool's connections killed under it, again and again: 2xx or 503, never 500.
                admin = await asyncpg.connect(url)
                try:
                    statuses = []
                    for _ in range(6):
                        await admin.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND pid <> pg_backend_pid()")
                        statuses += [r.status_code for r in await asyncio.gather(*(create() for _ in range(3)))]
                    assert set(statuses) <= {201, 503}, statuses
                    assert (await create()).status_code == 201  # and it recovers by itself
                    count = await admin.fetchval("SELECT count(*) FROM idempotency_keys WHERE idem_key = $1", key)
                    assert count == 1
                finally:
                    await admin.close()
    finally:
        await proxy.cut()

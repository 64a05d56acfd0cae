"""/readyz follows the database, not Kafka: with Kafka away an API still takes writes (their
events wait in the outbox), so it must stay in service."""

from __future__ import annotations

import socket
from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
from fastapi import FastAPI

from shared.http import create_service_app
from tests.support.plumbing import create_plumbing_database, plumbing_settings


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the socket is closed


@asynccontextmanager
async def _client(settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:  # type: ignore[no-untyped-def]
    app = create_service_app(settings, title="readiness", description="", routers=[])
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            yield app, client


async def test_ready_with_kafka_reachable(infra, topic_prefix) -> None:
    url = await create_plumbing_database(infra)
    async with _client(plumbing_settings(infra, url, topic_prefix)) as (_app, client):
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready" and response.json()["kafka"] == "ok"


async def test_still_ready_but_degraded_when_kafka_is_unreachable(infra, topic_prefix) -> None:
    url = await create_plumbing_database(infra)
    settings = plumbing_settings(infra, url, topic_prefix, kafka_bootstrap_servers=f"127.0.0.1:{_closed_port()}")
    async with _client(settings) as (_app, client):
        response = await client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "degraded" and body["kafka"] == "unreachable" and body["database"] == "ok"
    assert "outbox_pending" in body


async def test_not_ready_when_the_database_is_unreachable(infra, topic_prefix) -> None:
    url = await create_plumbing_database(infra)
    async with _client(plumbing_settings(infra, url, topic_prefix)) as (app, client):
        await app.state.pool.close()
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready" and response.json()["database"].startswith("unreachable")

"""With a metrics port, an api serves /metrics there and nothing else, and its HTTP port (the
one the gateway or Ingress routes) never serves /metrics: a real server on two real sockets."""

from __future__ import annotations

import asyncio
import socket

import httpx

from shared.entrypoint import api_server
from shared.http import create_service_app
from tests.support.plumbing import create_plumbing_database, plumbing_settings
from tests.support.waiting import wait_for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_metrics_answer_only_on_the_metrics_port(infra, topic_prefix) -> None:
    url = await create_plumbing_database(infra)
    http_port, metrics_port = _free_port(), _free_port()
    settings = plumbing_settings(infra, url, topic_prefix, http_port=http_port, metrics_port=metrics_port)
    server, sockets = api_server(create_service_app(settings, title="metrics", description="", routers=[]), settings)
    serving = asyncio.create_task(server.serve(sockets=sockets))
    try:
        await wait_for(lambda: _started(server), what="the api to listen on both ports")
        async with httpx.AsyncClient(timeout=10) as client:
            api, metrics = f"http://127.0.0.1:{http_port}", f"http://127.0.0.1:{metrics_port}"
            assert (await client.get(f"{api}/healthz")).status_code == 200
            scraped = await client.get(f"{metrics}/metrics")
            assert scraped.status_code == 200 and "shouhu_http_requests_total" in scraped.text
            assert (await client.get(f"{api}/metrics")).status_code == 404
            for path in ("/healthz", "/readyz", "/docs", "/openapi.json"):
                assert (await client.get(f"{metrics}{path}")).status_code == 404, path
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)


async def _started(server) -> bool:  # type: ignore[no-untyped-def]
    return server.started

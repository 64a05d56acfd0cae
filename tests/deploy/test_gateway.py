"""The gateway's nginx configuration (deploy/compose/nginx.conf), run by a real nginx in
front of a stand-in upstream that echoes what it receives: prefixes stripped and passed on
as X-Forwarded-Prefix, CORS only for the listed origins, with ETag, Location and
Retry-After readable, preflights answered at the gateway."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import httpx
import pytest

from tests.deploy.conftest import SERVICES
from tests.support.gateway import running_gateway

ALLOWED = "https://console.example.gov.cn"


class _Echo(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = json.dumps({"path": self.path, "prefix": self.headers.get("X-Forwarded-Prefix"),
                           "method": self.command}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("ETag", '"3"')
        self.send_header("Location", "/v1/children/x")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_OPTIONS = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[str]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    echo = f"127.0.0.1:{upstream.server_port}"
    try:
        with running_gateway(tmp_path_factory.mktemp("gateway"), {name: echo for name in SERVICES},
                             cors_origins=(ALLOWED,)) as base:
            yield base
    finally:
        upstream.shutdown()


def test_each_service_is_served_under_its_prefix_which_is_passed_on(gateway: str) -> None:
    for service in SERVICES:
        seen = httpx.get(f"{gateway}/{service}/openapi.json").json()
        assert seen == {"path": "/openapi.json", "prefix": f"/{service}", "method": "GET"}
        metrics = httpx.get(f"{gateway}/{service}/metrics")
        assert metrics.status_code == 404 and metrics.headers["content-type"] == "application/problem+json", service
    root = httpx.get(f"{gateway}/")
    assert '"prefix"' not in root.text  # "/" is the staff console's (its files), never an API's


def test_cors_for_listed_origins_only(gateway: str) -> None:
    allowed = httpx.post(f"{gateway}/registry/v1/children", headers={"Origin": ALLOWED}, json={})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    exposed = {h.strip() for h in allowed.headers["access-control-expose-headers"].split(",")}
    assert {"ETag", "Location", "Retry-After"} <= exposed
    assert "Origin" in allowed.headers["vary"]
    other = httpx.post(f"{gateway}/registry/v1/children", headers={"Origin": "https://elsewhere.example"}, json={})
    assert other.status_code == 201 and "access-control-allow-origin" not in other.headers


def test_a_preflight_is_answered_by_the_gateway(gateway: str) -> None:
    preflight = httpx.options(f"{gateway}/pairing/v1/caregivers/x", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, if-match, content-type"})
    assert preflight.status_code == 204 and not preflight.content
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    allowed_headers = preflight.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "if-match", "idempotency-key", "content-type"):
        assert header in allowed_headers
    refused = httpx.options(f"{gateway}/pairing/v1/caregivers/x", headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "PATCH"})
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-methods" not in refused.headers

"""The gateway's nginx configuration (deploy/compose/nginx.conf), run by a real nginx in
front of a stand-in upstream that echoes what it receives: prefixes stripped and passed on
as X-Forwarded-Prefix, CORS only for the listed origins, with ETag, Location and
Retry-After readable, preflights answered at the gateway."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import httpx
import pytest

from tests.deploy.conftest import SERVICES
from tests.support.gateway import running_gateway
from tests.support.processes import REPO, free_port

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
    for page in ("/pairing", "/reports"):  # the console's pages of the same first word as an API
        answer = httpx.get(gateway + page)
        assert answer.status_code != 301 and '"prefix"' not in answer.text, page


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


def test_the_gateway_images_own_configuration_serves_the_console_and_the_app(tmp_path) -> None:
    """deploy/console/nginx.conf, as the gateway image runs it in Kubernetes (the ingress routes
    the APIs): the console's and the app's files, their routes falling back to their index.html,
    hashed assets cached for good, and no API path answered here."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    html = tmp_path / "html"
    (html / "assets").mkdir(parents=True)
    (html / "m" / "assets").mkdir(parents=True)
    (html / "index.html").write_text("<title>守护 console</title>", encoding="utf-8")
    (html / "assets" / "index-abc123.js").write_text("console()", encoding="utf-8")
    (html / "m" / "index.html").write_text("<title>守护 app</title>", encoding="utf-8")
    (tmp_path / "temp").mkdir()
    port = free_port()
    conf = (REPO / "deploy" / "console" / "nginx.conf").read_text(encoding="utf-8")
    conf = conf.replace("pid /tmp/nginx.pid;", f"pid {tmp_path}/nginx.pid;").replace("/var/cache/nginx/", f"{tmp_path}/temp/")
    conf = conf.replace("listen 8080 default_server;", f"listen 127.0.0.1:{port} default_server;")
    conf = conf.replace("error_log /dev/stderr warn;", f"error_log {tmp_path}/error.log warn;")
    conf = conf.replace("access_log /dev/stdout console;", "access_log off;")
    (tmp_path / "nginx.conf").write_text(conf, encoding="utf-8")
    console = (REPO / "deploy" / "compose" / "console.conf").read_text(encoding="utf-8")
    (tmp_path / "console.conf").write_text(console.replace("root /usr/share/nginx/html;", f"root {html};"),
                                           encoding="utf-8")
    args = [nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)]
    checked = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([*args, "-g", "daemon off;" + (" user root;" if os.geteuid() == 0 else "")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while not _answers(f"{base}/healthz"):
            assert process.poll() is None and time.monotonic() < deadline, "the console's nginx did not start"
            time.sleep(0.1)
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        for path in ("/", "/children/3f0c", "/reports", "/pairing"):
            page = httpx.get(base + path)
            assert page.status_code == 200 and "守护 console" in page.text, path
            assert page.headers["x-frame-options"] == "DENY"
        assert "守护 app" in httpx.get(f"{base}/m/children/3f0c").text
        asset = httpx.get(f"{base}/assets/index-abc123.js")
        assert asset.text == "console()" and "max-age=315360000" in asset.headers["cache-control"]
        assert httpx.get(f"{base}/assets/missing.js").status_code == 404
        assert "registry" not in httpx.get(f"{base}/registry/v1/children").text  # the console's page, no API
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False

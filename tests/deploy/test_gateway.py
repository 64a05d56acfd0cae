"""The gateway's nginx configuration (deploy/compose/nginx.conf), run by a real nginx in
front of a stand-in upstream that echoes what it receives: prefixes stripped and passed on
as X-Forwarded-Prefix, CORS only for the listed origins, with ETag, Location and
Retry-After readable, preflights answered at the gateway."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.deploy.conftest import SERVICES
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
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    assert nginx, "nginx is missing; scripts/bootstrap installs it"
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    directory = tmp_path_factory.mktemp("gateway")
    (directory / "temp").mkdir()
    (directory / "temp").chmod(0o1777)
    port = free_port()
    conf = (REPO / "deploy" / "compose" / "nginx.conf").read_text(encoding="utf-8")
    conf = re.sub(r"^pid .*$", f"pid {directory}/nginx.pid;", conf, flags=re.M)
    conf = re.sub(r"^error_log .*$", f"error_log {directory}/error.log warn;", conf, flags=re.M)
    conf = conf.replace("access_log /dev/stdout gateway;", "access_log off;")
    conf = re.sub(r"^\s*resolver.*$", "", conf, flags=re.M)
    conf = conf.replace("/var/cache/nginx/", f"{directory}/temp/")
    conf = conf.replace("listen 8080 default_server;", f"listen 127.0.0.1:{port} default_server;")
    conf = re.sub(r"set \$upstream [\w-]+:\d+;", f"set $upstream 127.0.0.1:{upstream.server_port};", conf)
    (directory / "nginx.conf").write_text(conf, encoding="utf-8")
    (directory / "cors-origins.map").write_text(f'"{ALLOWED}" $http_origin;\n', encoding="utf-8")
    args = [nginx, "-c", str(directory / "nginx.conf"), "-p", str(directory)]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([*args, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
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

"""Each service's HTTP API against its own OpenAPI document, as a third-party client
would try it: schemathesis generates requests from the document (valid and invalid) and
checks that no answer is a 5xx and that every answer matches what the document declares
(status, content type, headers, body schema). One real api process per service, on its
own migrated database; the token is a county admin's, so the generated requests reach
the routes' logic rather than stopping at 401. Then the same through the gateway (the real
nginx configuration): the document read at `/<service>/openapi.json` names `/<service>`
as its server, so every generated request goes through the gateway's prefix."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.support.auth import COUNTY, make_token
from tests.support.gateway import running_gateway
from tests.support.processes import Service, ServiceProcess, free_port, service_env, wait_ready
from tests.support.databases import create_migrated_database, drop_database
from tests.support.stack import SERVICE_NAMES, _entry

# The four services of the stack and the reports, which reads the registry's division names.
CONTRACT_SERVICES = (*SERVICE_NAMES, "reports")
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance")
# Enough generated cases per operation to reach every declared status in a few minutes
# for all five services on a shared machine; the seed keeps a run reproducible.
MAX_EXAMPLES = "8"
SEED = "20261"
# One worker: with several, hypothesis parses lambdas' source in parallel threads, which
# CPython 3.11 can fail with "AST constructor recursion depth mismatch" (a runner error,
# not a finding).


@pytest.fixture(scope="module")
def apis(infra, tmp_path_factory) -> Iterator[dict[str, Service]]:
    log_dir = tmp_path_factory.mktemp("contract-logs")
    topic_prefix = infra.new_topic_prefix("contract")
    services: dict[str, Service] = {}
    try:
        for name in CONTRACT_SERVICES:
            url = asyncio.run(create_migrated_database(infra, name, _entry(name).migrations_dir))
            port = free_port()
            extra = {"SHOUHU_REPORTS_REGISTRY_BASE_URL": services["registry"].base_url} if name == "reports" else None
            env = service_env(name, database_url=url, port=port, kafka=infra.kafka_bootstrap,
                              topic_prefix=topic_prefix, group=f"{topic_prefix}{name}", extra=extra)
            services[name] = Service(name=name, database_url=url, base_url=f"http://127.0.0.1:{port}",
                                     api=ServiceProcess(name, "api", env, log_dir / f"{name}-api.log"),
                                     worker=ServiceProcess(name, "worker", env, log_dir / f"{name}-worker.log"))
            services[name].api.start()
        for service in services.values():
            asyncio.run(_ready(service))
        yield services
    finally:
        for service in services.values():
            service.api.stop()
            asyncio.run(drop_database(infra, service.database_url))


async def _ready(service: Service) -> None:
    # The worker is not started: the api alone answers every operation.
    service.worker.process = None
    await wait_ready(service)


@pytest.fixture(scope="module")
def gateway(apis: dict[str, Service], tmp_path_factory) -> Iterator[str]:
    upstreams = {name: service.base_url.removeprefix("http://") for name, service in apis.items()}
    with running_gateway(tmp_path_factory.mktemp("contract-gateway"), upstreams) as base:
        yield base


def _schemathesis(document_url: str, tmp_path: Path, *, phases: str = "examples,coverage,fuzzing",
                  max_examples: str = MAX_EXAMPLES) -> subprocess.CompletedProcess[str]:
    token = make_token(roles=["admin"], jurisdiction=COUNTY, subject="contract-test",
                       permissions=["view_sensitive"])
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert st, "schemathesis is part of the test dependencies (pip install -e '.[test]')"
    return subprocess.run(
        [st, "run", document_url, "--checks", CHECKS, "--max-examples", max_examples,
         "--seed", SEED, "--phases", phases, "--workers", "1", "--no-color",
         "--suppress-health-check", "all", "--request-timeout", "30",
         "-H", f"Authorization: Bearer {token}", "--exclude-path", "/metrics"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("name", CONTRACT_SERVICES)
def test_the_api_keeps_to_its_openapi_document(apis: dict[str, Service], name: str, tmp_path: Path) -> None:
    service = apis[name]
    run = _schemathesis(f"{service.base_url}/openapi.json", tmp_path)
    report = run.stdout[-12000:]
    assert run.returncode == 0, f"{name}: schemathesis found problems\n{report}\n{service.api.log_text()[-3000:]}"
    assert "No issues found" in run.stdout or "passed" in run.stdout, report


@pytest.mark.parametrize("name", CONTRACT_SERVICES)
def test_through_the_gateway_too(apis: dict[str, Service], gateway: str, name: str, tmp_path: Path) -> None:
    document = httpx.get(f"{gateway}/{name}/openapi.json", timeout=10).json()
    assert document["servers"] == [{"url": f"/{name}"}], document.get("servers")
    # What the gateway adds (the prefix, its headers, its own answers) shows on every operation's
    # examples and a few generated cases; the coverage phase's boundaries were tried directly.
    run = _schemathesis(f"{gateway}/{name}/openapi.json", tmp_path, phases="examples,fuzzing", max_examples="3")
    report = run.stdout[-12000:]
    assert run.returncode == 0, f"{name} behind the gateway: schemathesis found problems\n{report}"
    assert "No issues found" in run.stdout or "passed" in run.stdout, report
    # The generated requests went to the gateway, under the service's prefix.
    assert f"{gateway}/{name}" in run.stdout, run.stdout[:2000]

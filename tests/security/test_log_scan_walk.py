"""Logs never carry personal data, on every route of every service: a name, an ID number and
a phone are planted in every query parameter, every string field of every body and the
stated purpose of every call (as a person mistyping would), every route is called, and the
logs of all five services are scanned."""

from __future__ import annotations

import io
import json
import logging
from typing import Any, AsyncIterator
from urllib.parse import quote

import pytest_asyncio
import structlog

from shared.logging import configure_logging
from tests.security.walk import SERVICES, Seeded, _resolve, request_for, routes, seeded_services
from tests.support.auth import COUNTY, bearer

NAME = "欧阳春花"
NATIONAL_ID = "330102201603090037"
PHONE = "13912345678"
PLANTED = f"{NAME} {NATIONAL_ID} {PHONE}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(infra) -> AsyncIterator[Seeded]:
    async for running in seeded_services(infra):
        yield running


def _planted(schema: dict[str, Any], document: dict[str, Any], value: Any) -> Any:
    """The example body with every string field (required or not) holding the planted text."""
    schema = _resolve(schema, document)
    if schema.get("type") == "object" and isinstance(value, dict):
        fields = dict(value)
        for key, sub in schema.get("properties", {}).items():
            resolved = _resolve(sub, document)
            if resolved.get("type") == "string" and "enum" not in resolved:
                fields[key] = PLANTED
            elif key in fields:
                fields[key] = _planted(sub, document, fields[key])
        return fields
    return value


async def test_planted_personal_data_never_reaches_any_services_logs(seeded: Seeded) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("log-scan", "DEBUG")
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    headers = {**bearer(roles=["admin", "county_staff"], jurisdiction=COUNTY, subject="log-scan",
                        permissions=["view_sensitive"]), "X-Purpose": quote(PLANTED)}
    calls = 0
    try:
        for name in SERVICES:
            document = seeded.document(name)
            for route in routes(seeded, name, ("get", "post", "put", "patch", "delete")):
                url, _, body = request_for(seeded, route)
                queries = [parameter["name"] for parameter in route.operation.get("parameters", [])
                           if parameter["in"] == "query"]
                if queries:
                    url += ("&" if "?" in url else "?") + "&".join(f"{q}={quote(PLANTED)}" for q in queries)
                content = route.operation.get("requestBody", {}).get("content", {})
                if "application/json" in content:
                    body = _planted(content["application/json"]["schema"], document, body)
                answer = await seeded.services[name].client.request(route.method.upper(), url, headers=headers,
                                                                    json=body)
                calls += 1
                assert answer.status_code < 500, f"{route.method} {route.path}: {answer.status_code}"
                for planted in (NAME, NATIONAL_ID, PHONE):
                    assert planted not in answer.headers.get("location", "")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        structlog.reset_defaults()
    text = buffer.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert calls > 90 and sum(line.get("event") == "request" for line in lines) >= calls, "the walk was logged"
    lines = [line for line in lines if line.get("logger") != "httpx"]  # the test's own client
    scanned = json.dumps(lines, ensure_ascii=False)
    for planted in (NAME, NATIONAL_ID, PHONE, quote(NAME)):
        assert planted not in scanned, f"{planted!r} reached the logs"

"""Every route of every service, from its OpenAPI document: control characters and numbers
out of range in each query, path and header parameter and in each top-level body field.
Not one answer may be a 500; parameters answer 422 naming where the bad value was."""

from __future__ import annotations

import importlib
from typing import Any, AsyncIterator
from urllib.parse import quote

import httpx
import pytest_asyncio
from fastapi.routing import APIRoute

from shared.clean_text import CleanInput
from tests.support.auth import COUNTY, bearer
from tests.support.databases import create_migrated_database, drop_database

SERVICES = ("registry", "pairing", "visits", "notify", "reports")
CONTROL_VALUES = ("a\x00b", "a\x07b", "a\x1bb", "a\x85b")
HUGE = 10**30
UUID = "00000000-0000-4000-8000-000000000001"
AUTH = bearer(roles=["admin", "county_staff"], jurisdiction=COUNTY, permissions=["view_sensitive"],
              caregiver_id=UUID)


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=SERVICES)
async def service(request, infra) -> AsyncIterator[tuple[str, Any, httpx.AsyncClient]]:
    name = request.param
    entry = importlib.import_module(f"services.{name}.entry").ENTRY
    url = await create_migrated_database(infra, name, entry.migrations_dir)
    settings = entry.load_settings().model_copy(update={"database_url": url,
                                                         "kafka_bootstrap_servers": infra.kafka_bootstrap})
    app = entry.create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as client:
                yield name, app, client
    finally:
        await drop_database(infra, url)


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = target
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            options = [_resolve(option, document) for option in schema[key] if option.get("type") != "null"]
            if options:
                return options[0]
    return schema


def _example(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    schema = _resolve(schema, document)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {name: _example(sub, document) for name, sub in schema.get("properties", {}).items()
                if name in schema.get("required", [])}
    fmt = schema.get("format")
    if fmt == "uuid":
        return UUID
    if fmt == "date":
        return "2024-05-01"
    if fmt == "date-time":
        return "2024-05-01T08:00:00+08:00"
    if schema.get("pattern") == r"^\d{12}$":
        return COUNTY
    return "x"


def _operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def _request_parts(path: str, operation: dict[str, Any], document: dict[str, Any]) -> tuple[str, dict, dict, Any]:
    params = {p["name"]: p for p in operation.get("parameters", [])}
    url = path
    query: dict[str, Any] = {}
    headers = dict(AUTH)
    for name, param in params.items():
        value = _example(param.get("schema", {}), document)
        if param["in"] == "path":
            url = url.replace("{" + name + "}", quote(str(value)))
        elif param["in"] == "query" and param.get("required"):
            query[name] = value
        elif param["in"] == "header" and param.get("required"):
            headers[name] = str(value)
    body = None
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = _example(content["application/json"]["schema"], document)
    return url, query, headers, body


async def _send(client: httpx.AsyncClient, method: str, url: str, query: dict, headers: dict, body: Any) -> httpx.Response:
    return await client.request(method.upper(), url, params=query, headers=headers,
                                json=body if body is not None else None)


async def test_control_characters_and_huge_numbers_in_every_parameter_answer_422(service) -> None:
    name, app, client = service
    document = app.openapi()
    failures: list[str] = []
    tried = 0
    for path, method, operation in _operations(document):
        url, query, headers, body = _request_parts(path, operation, document)
        for param in operation.get("parameters", []):
            schema = _resolve(param.get("schema", {}), document)
            bad_values: list[Any] = list(CONTROL_VALUES)
            if schema.get("type") == "integer":
                bad_values.append(HUGE)
            for bad in bad_values:
                tried += 1
                where = param["in"]
                if where == "path":
                    bad_url = path
                    for other in operation.get("parameters", []):
                        if other["in"] == "path":
                            value = bad if other is param else _example(other.get("schema", {}), document)
                            bad_url = bad_url.replace("{" + other["name"] + "}", quote(str(value), safe=""))
                    answer = await _send(client, method, bad_url, query, headers, body)
                elif where == "query":
                    answer = await _send(client, method, url, {**query, param["name"]: bad}, headers, body)
                elif where == "header":
                    if isinstance(bad, str) and bad[1] in "\x00":
                        continue  # h11 refuses NUL in a header before any app sees it
                    raw = bad.encode("utf-8") if isinstance(bad, str) else str(bad).encode()
                    answer = await client.request(method.upper(), url, params=query,
                                                  headers={**headers, param["name"]: raw}, json=body)
                else:
                    continue
                if answer.status_code != 422 or where not in answer.text:
                    failures.append(f"{method.upper()} {path} {where}.{param['name']}={bad!r}: "
                                    f"{answer.status_code} {answer.text[:200]}")
        # A query parameter the route does not declare, and a header every route receives.
        for label, extra in (("query.unexpected", {"params": {**query, "unexpected": "a\x00b"}}),
                             ("header.x-purpose", {"headers": {**headers, "X-Purpose": "audit\x07check".encode()}})):
            tried += 1
            answer = await client.request(method.upper(), url, **{"params": query, "headers": headers, **extra},
                                          json=body)
            if answer.status_code != 422:
                failures.append(f"{method.upper()} {path} {label}: {answer.status_code} {answer.text[:200]}")
    assert tried > 10
    assert failures == [], f"{name}: " + "\n".join(failures)


async def test_control_characters_and_huge_numbers_in_every_body_field_never_answer_500(service) -> None:
    name, app, client = service
    document = app.openapi()
    failures: list[str] = []
    for path, method, operation in _operations(document):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        url, query, headers, _ = _request_parts(path, operation, document)
        schema = _resolve(content["application/json"]["schema"], document)
        valid = _example(schema, document)
        for field, sub in schema.get("properties", {}).items():
            field_schema = _resolve(sub, document)
            kind = field_schema.get("type")
            bad_values: list[Any] = list(CONTROL_VALUES) if kind in ("string", None) else [HUGE] if kind == "integer" else []
            for bad in bad_values:
                answer = await _send(client, method, url, query, headers, {**valid, field: bad})
                if answer.status_code >= 500 or (answer.status_code == 422 and field not in answer.text):
                    failures.append(f"{method.upper()} {path} body.{field}={bad!r}: {answer.status_code} "
                                    f"{answer.text[:200]}")
    assert failures == [], f"{name}: " + "\n".join(failures)


def test_every_request_body_model_is_a_clean_input(service) -> None:
    name, app, _ = service
    unclean = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for param in route.dependant.body_params:
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields") \
                    and not issubclass(annotation, CleanInput):
                unclean.append(f"{route.path}: {annotation.__name__}")
    assert unclean == [], f"{name}: body models not derived from CleanInput: {unclean}"


def _forged(**claims: Any) -> dict[str, str]:
    import time

    import jwt

    from shared.settings import AuthSettings

    settings = AuthSettings()
    now = int(time.time())
    body = {"sub": "tester", "roles": ["admin", "county_staff"], "jurisdiction": COUNTY,
            "permissions": ["view_sensitive"], "iss": settings.issuer, "aud": settings.audience,
            "iat": now, "exp": now + 600, **claims}
    return {"Authorization": "Bearer " + jwt.encode(body, settings.dev_signing_key.get_secret_value(), "HS256")}


async def test_claims_of_the_wrong_type_answer_401_on_every_route(service) -> None:
    name, app, client = service
    document = app.openapi()
    failures = []
    for path, method, operation in _operations(document):
        if not path.startswith("/v1/"):
            continue
        url, query, _headers, body = _request_parts(path, operation, document)
        for claims in ({"caregiver_id": 12345}, {"jurisdiction": 330102000000}, {"roles": "admin"},
                       {"permissions": {"view_sensitive": True}}, {"sub": ["a"]}):
            answer = await _send(client, method, url, query, _forged(**claims), body)
            if answer.status_code != 401:
                failures.append(f"{method.upper()} {path} {claims}: {answer.status_code} {answer.text[:200]}")
    assert failures == [], f"{name}: " + "\n".join(failures)


def _attack_tokens() -> dict[str, dict[str, str]]:
    """The token attacks, each a whole Authorization header."""
    import time

    import jwt

    from shared.settings import AuthSettings

    settings, now = AuthSettings(), int(time.time())
    claims = {"sub": "tester", "roles": ["admin"], "jurisdiction": COUNTY, "permissions": ["view_sensitive"],
              "iss": settings.issuer, "aud": settings.audience, "iat": now, "exp": now + 600}
    unsigned = jwt.encode(claims, None, algorithm="none")
    return {
        "alg none": {"Authorization": f"Bearer {unsigned}"},
        "another key": {"Authorization": "Bearer " + jwt.encode(claims, "not-the-key" * 4, "HS256")},
        "expired": _forged(iat=now - 7200, exp=now - 3600),
        "not yet valid": _forged(nbf=now + 3600),
        "wrong issuer": _forged(iss="https://evil.example"),
        "wrong audience": _forged(aud="another-app"),
        "lives ten years": _forged(exp=now + 10 * 365 * 86400),
        "malformed jurisdiction": _forged(jurisdiction="33010200000x"),
        "unknown role": _forged(roles=["superuser"]),
        "no token": {},
        "not a bearer token": {"Authorization": "Basic dXNlcjpwYXNz"},
    }


async def test_forged_expired_and_malformed_tokens_answer_401_on_every_route(service) -> None:
    name, app, client = service
    document = app.openapi()
    failures = []
    for path, method, operation in _operations(document):
        if not path.startswith("/v1/"):
            continue
        url, query, _headers, body = _request_parts(path, operation, document)
        for attack, headers in _attack_tokens().items():
            answer = await _send(client, method, url, query, headers, body)
            if answer.status_code != 401:
                failures.append(f"{method.upper()} {path} {attack}: {answer.status_code} {answer.text[:200]}")
    assert failures == [], f"{name}: " + "\n".join(failures)


async def test_a_version_beyond_a_column_in_if_match_is_422_on_every_route(service) -> None:
    name, app, client = service
    document = app.openapi()
    failures = []
    for path, method, operation in _operations(document):
        if method not in ("put", "patch", "post", "delete"):
            continue
        url, query, headers, body = _request_parts(path, operation, document)
        for version in (b'"99999999999999999999"', b'W/"1' + b"0" * 30 + b'"', '"²"'.encode()):
            answer = await _send(client, method, url, query, {**headers, "If-Match": version}, body)
            if answer.status_code != 422:
                failures.append(f"{method.upper()} {path} If-Match {version}: {answer.status_code} {answer.text[:200]}")
    assert failures == [], f"{name}: " + "\n".join(failures)

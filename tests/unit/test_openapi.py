"""Each service's OpenAPI document declares what the service really answers: the problem
body for every error, the bearer scheme, the conditional and idempotency headers; its
pages load their assets from the service itself, and `servers` follows the gateway's
prefix. (That the answers match the document is tests/integration/test_api_contract.py.)"""

from __future__ import annotations

import importlib

import httpx
import pytest
from fastapi import FastAPI

SERVICES = ("registry", "pairing", "visits", "notify", "reports")
PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _app(name: str) -> FastAPI:
    entry = importlib.import_module(f"services.{name}.entry").ENTRY
    return entry.create_app(entry.load_settings())


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, methods in document["paths"].items() for method, op in methods.items()]


@pytest.mark.parametrize("name", SERVICES)
def test_problem_schema_security_and_headers_are_declared(name: str) -> None:
    document = _app(name).openapi()
    schemas = document["components"]["schemas"]
    problem = schemas["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])
    assert {"detail", "errors", "code"} <= set(problem["properties"])
    assert schemas["FieldError"]["required"] == ["field", "reason"]
    assert "HTTPValidationError" not in schemas
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"]}
    service_operations = [(p, m, op) for p, m, op in _operations(document) if p.startswith("/v1/")]
    assert service_operations
    for path, method, op in service_operations:
        where = f"{method.upper()} {path}"
        assert op["security"] == [{"bearerAuth": []}], where
        responses = op["responses"]
        for status in ("401", "403", "422", "503"):
            assert responses[status]["content"] == {"application/problem+json": {"schema": PROBLEM}}, where
        for status, response in responses.items():
            if int(status) >= 400:
                assert set(response["content"]) == {"application/problem+json"}, (where, status)
            elif status != "204":
                # One media type, or several for a binary answer (a photo as JPEG, PNG or WebP).
                for content in response["content"].values():
                    assert content.get("schema"), (where, status, "a success body without a schema")
        headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        if "If-Match" in headers:
            assert {"412", "428"} <= set(responses), where
        if "{" in path:
            assert "404" in responses, where


@pytest.mark.parametrize("name", SERVICES)
def test_every_change_to_a_versioned_record_declares_if_match(name: str) -> None:
    document = _app(name).openapi()
    for path, method, op in _operations(document):
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        ref = body.get("$ref", "").rpartition("/")[2]
        versioned_body = "version" in document["components"]["schemas"].get(ref, {}).get("properties", {})
        if versioned_body:
            headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
            assert "If-Match" in headers, f"{method.upper()} {path} takes a version but declares no If-Match"


def test_creates_declare_idempotency_key_and_metrics_is_text() -> None:
    document = _app("registry").openapi()
    create = document["paths"]["/v1/children"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"] if p["in"] == "header"}
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChildOut"}
    assert set(document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}


async def test_docs_work_behind_the_gateway_without_a_cdn() -> None:
    app = _app("registry")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry") as client:
        direct = (await client.get("/openapi.json")).json()
        assert "servers" not in direct
        behind = await client.get("/openapi.json", headers={"X-Forwarded-Prefix": "/registry"})
        assert behind.json()["servers"] == [{"url": "/registry"}]
        forged = await client.get("/openapi.json", headers={"X-Forwarded-Prefix": "https://evil.example/"})
        assert "servers" not in forged.json()
        for page in ("/docs", "/redoc"):
            html = (await client.get(page, headers={"X-Forwarded-Prefix": "/registry"})).text
            assert "/registry/openapi.json" in html and "/registry/docs/assets/" in html, page
            assert "cdn" not in html.lower() and "googleapis" not in html, page
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
            response = await client.get(f"/docs/assets/{asset}")
            assert response.status_code == 200 and len(response.content) > 10_000, asset
        missing = await client.get("/docs/assets/..%2Fconsts.py")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"

"""Every list in every service has the one shape (`shared/pagination.py`): a GET whose
answer holds `items` also answers `next_cursor` and takes `limit` and `cursor`, and no
route answers a bare JSON array. Read from each service's OpenAPI document, so a new list
route that pages its own way (or not at all) fails here."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

SERVICES = ("registry", "pairing", "visits", "notify", "reports")


def _document(name: str) -> dict[str, Any]:
    entry = importlib.import_module(f"services.{name}.entry").ENTRY
    document: dict[str, Any] = entry.create_app(entry.load_settings()).openapi()
    return document


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _success_schemas(document: dict[str, Any]):  # type: ignore[no-untyped-def]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation.get("responses", {}).items():
                if not code.startswith("2"):
                    continue
                content = response.get("content", {}).get("application/json", {})
                if "schema" in content:
                    yield path, method, operation, _resolve(document, content["schema"])


@pytest.mark.parametrize("name", SERVICES)
def test_every_list_has_the_one_page_shape(name: str) -> None:
    document = _document(name)
    bare, unpaged = [], []
    for path, method, operation, schema in _success_schemas(document):
        if schema.get("type") == "array":
            bare.append(f"{method.upper()} {path}")
        properties = schema.get("properties", {})
        is_read = method == "get" or path.endswith("/search")
        if is_read and "items" in properties and properties["items"].get("type") == "array":
            query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            body = _resolve(document, operation.get("requestBody", {}).get("content", {})
                            .get("application/json", {}).get("schema", {}))
            asks = query | set(body.get("properties", {}))
            if "next_cursor" not in properties or not {"limit", "cursor"} <= asks:
                unpaged.append(f"{method.upper()} {path}")
    assert not bare, f"lists answered as bare arrays: {bare}"
    assert not unpaged, f"lists without next_cursor, limit and cursor: {unpaged}"

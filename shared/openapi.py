"""The OpenAPI document a service publishes, made to tell the truth, and the pages that
show it.

FastAPI's generated document is completed from the routes themselves: every error status
a route can answer is declared with the problem+json body (`shared.problems`); routes
that take a bearer token name the `bearerAuth` scheme (Swagger UI's Authorize button).
`servers` follows the prefix the gateway serves the service under (`X-Forwarded-Prefix`,
else the ASGI root_path), so "Try it out" calls the right URL both directly and behind
the gateway. Swagger UI and ReDoc load their scripts from this service, never from a CDN:
a county intranet often has no internet."""

from __future__ import annotations

import copy
import re
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute

from shared.auth import require_principal
from shared.problems import MEDIA_TYPE, Problem
from shared.routing import reject_unknown_query_parameters
from shared.rules import Refusal

SECURITY_SCHEME = "bearerAuth"
ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
               "redoc.standalone.js": "text/javascript", "favicon.png": "image/png"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_PREFIX = re.compile(r"/[a-z][a-z0-9-]{0,30}")
_CACHE = "openapi_document"


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    for sub in dependant.dependencies:
        if sub.call is not None:
            found.add(sub.call)
        found |= _calls(sub)
    return found


def error_statuses(route: APIRoute, method: str) -> set[int]:
    """The error statuses this route can answer, read from what it depends on."""
    calls = _calls(route.dependant)
    statuses: set[int] = set()
    if reject_unknown_query_parameters in calls:
        statuses |= {422, 503}  # every service route: bad input; the database away or slow
    if require_principal in calls:
        statuses |= {401, 403}
    flat = get_flat_dependant(route.dependant, skip_repeats=True)
    if flat.path_params or flat.query_params or route.body_field is not None:
        # a record named in the path or referred to by a filter or the body that is not
        # there, or not in the caller's jurisdiction ("not there" too)
        statuses.add(404)
    if route.body_field is not None:
        statuses.add(400)  # a body that cannot be parsed at all (not UTF-8, broken multipart)
    if method in WRITE_METHODS:
        statuses.add(409)
    if "if-match" in {param.alias.lower() for param in flat.header_params}:
        statuses |= {412, 428}
    return statuses


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def build(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(title=app.title, version=app.version, description=app.description,
                           routes=app.routes)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_problem_schemas())
    components["securitySchemes"] = {SECURITY_SCHEME: {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "a JWT from the county's identity provider (dev: `shouhu token`)"}}
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods:
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in error_statuses(route, method):
                responses.setdefault(str(status), {"description": HTTPStatus(status).phrase})
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    responses[code] = _problem_response(response.get("description") or HTTPStatus(int(code)).phrase)
            if require_principal in _calls(route.dependant):
                operation["security"] = [{SECURITY_SCHEME: []}]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def document(app: FastAPI) -> dict[str, Any]:
    cached = getattr(app.state, _CACHE, None)
    if cached is None:
        cached = build(app)
        setattr(app.state, _CACHE, cached)
    return cached


def served_prefix(request: Request) -> str:
    """Where the client reached this service: the gateway's prefix (`/registry`) or ''."""
    forwarded = request.headers.get("x-forwarded-prefix", "").rstrip("/")
    if _PREFIX.fullmatch(forwarded):
        return forwarded
    root_path = str(request.scope.get("root_path", "")).rstrip("/")
    return root_path if _PREFIX.fullmatch(root_path) else ""


def install(app: FastAPI) -> None:
    """`/openapi.json`, `/docs` (Swagger UI), `/redoc`, and their assets."""
    app.openapi = lambda: document(app)  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json(request: Request) -> JSONResponse:
        prefix = served_prefix(request)
        body = document(app)
        if prefix:
            body = copy.copy(body)
            body["servers"] = [{"url": prefix}]
        return JSONResponse(body)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        prefix = served_prefix(request)
        return get_swagger_ui_html(
            openapi_url=f"{prefix}/openapi.json", title=f"{app.title} - API",
            swagger_js_url=f"{prefix}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}/docs/assets/swagger-ui.css",
            swagger_favicon_url=f"{prefix}/docs/assets/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True})

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        prefix = served_prefix(request)
        return get_redoc_html(openapi_url=f"{prefix}/openapi.json", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{prefix}/docs/assets/redoc.standalone.js",
                              redoc_favicon_url=f"{prefix}/docs/assets/favicon.png", with_google_fonts=False)

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        media_type = ASSET_FILES.get(name)
        if media_type is None:
            raise Refusal(404, "not_found", "no such asset")
        return FileResponse(ASSETS / name, media_type=media_type,
                            headers={"Cache-Control": "public, max-age=86400"})

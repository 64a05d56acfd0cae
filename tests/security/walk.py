"""Every service in-process, seeded with one child's data in each (sensitive values planted),
and the routes of each, read from its OpenAPI document: what the route-walking security tests
(purpose rule, BOLA matrix) share. Routes added later are walked without a change here."""

from __future__ import annotations

import importlib
import io
import itertools
import re
import uuid
import zipfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, AsyncIterator

import asyncpg
import httpx

from services.registry import vocabulary
from shared import clock
from shared.consumer import RawRecord
from shared.contracts import ChildRegistered, Jurisdiction, PairingCreated
from shared.contracts.envelope import encode
from tests.registry.helpers import full_child_body
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer
from tests.support.databases import create_migrated_database, drop_database

SERVICES = ("registry", "pairing", "visits", "notify", "reports")
HERE = Jurisdiction(county_code=COUNTY, township_code=TOWNSHIP, village_code=VILLAGE)
SCHOOL = "school-1"
ANY_UUID = "00000000-0000-4000-8000-000000000001"
_offsets = itertools.count(1)

# Planted values: any of them in an answer is a sensitive value in clear.
SECRETS = {
    "registry": ("13800138000", "13912345678", "某村12号", "父亲服刑", "成长记录里的秘密"),
    "pairing": ("13900139000", "secret.cg@example.cn", "wecom.secret"),
    "visits": ("观察到的秘密笔记", "30.21234", "跟进的秘密事项", "手臂上的秘密淤青", "suspected_abuse"),
    "notify": ("13700137000", "staff.secret@example.cn"),
    "reports": (),
}


@dataclass
class Running:
    name: str
    app: Any
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    settings: Any
    consumers: list[Any]

    async def deliver(self, event: Any) -> None:
        encoded = encode(event)
        record = RawRecord(topic=encoded.topic, partition=0, offset=next(_offsets), key=encoded.key.encode(),
                           headers=[(k, v.encode()) for k, v in encoded.headers.items()], value=encoded.value)
        for consumer in self.consumers:
            if type(event) in consumer._handlers and encoded.topic in consumer._topics:
                await consumer.process(record)


@dataclass
class Seeded:
    services: dict[str, Running]
    ids: dict[str, str] = field(default_factory=dict)  # path parameter name → a seeded record's id
    child_ids: set[str] = field(default_factory=set)  # ids that identify the child or its records
    caregiver_id: str = ""

    def document(self, name: str) -> dict[str, Any]:
        return self.services[name].app.openapi()


async def _start(stack: AsyncExitStack, infra: Any, name: str) -> Running:
    entry = importlib.import_module(f"services.{name}.entry").ENTRY
    url = await create_migrated_database(infra, name, entry.migrations_dir)
    stack.push_async_callback(drop_database, infra, url)
    settings = entry.load_settings().model_copy(update={"database_url": url,
                                                         "kafka_bootstrap_servers": infra.kafka_bootstrap})
    app = entry.create_app(settings)
    await stack.enter_async_context(app.router.lifespan_context(app))
    client = await stack.enter_async_context(httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t", timeout=60))
    pool = app.state.pool
    return Running(name, app, client, pool, settings, entry.build_consumers(settings, pool))


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()


async def seeded_services(infra: Any) -> AsyncIterator[Seeded]:
    """All five services, one child in each with its sensitive data, kept for a test module."""
    async with AsyncExitStack() as stack:
        running = {name: await _start(stack, infra, name) for name in SERVICES}
        seeded = Seeded(running)
        await _seed(seeded)
        yield seeded


async def _seed(seeded: Seeded) -> None:
    registry, pairing, visits, notify = (seeded.services[n] for n in ("registry", "pairing", "visits", "notify"))
    county = bearer(roles=["county_staff"], jurisdiction=COUNTY, subject="seeder")
    admin = bearer(roles=["admin"], jurisdiction=COUNTY, subject="seeder")
    today = clock.from_env().today()

    body = full_child_body(school_id=SCHOOL)
    body["guardians"][0]["phone"], body["parents"][0]["phone"] = "13800138000", "13912345678"
    child = _ok(await registry.client.post("/v1/children", json=body, headers=county))
    child_id = uuid.UUID(child["id"])
    _ok(await registry.client.post(f"/v1/children/{child_id}/growth-notes", headers=county, json={
        "noted_on": (today - timedelta(days=1)).isoformat(), "area": vocabulary.GROWTH_AREA.codes[0],
        "text": "成长记录里的秘密"}))

    registered = ChildRegistered(child_id=child_id, jurisdiction=HERE, school_id=SCHOOL, priority=True,
                                 age_band="6-11", record_version=1)
    for service in (pairing, visits, notify):
        await service.deliver(registered)
    caregiver = _ok(await pairing.client.post("/v1/caregivers", headers=county, json={
        "kind": "teacher", "jurisdiction": HERE.model_dump(), "school_id": SCHOOL, "name": "李老师",
        "contact": {"phone": "+8613900139000", "email": "secret.cg@example.cn", "wecom_id": "wecom.secret"}}))
    pairing_row = _ok(await pairing.client.post("/v1/pairings", headers=county, json={
        "child_id": str(child_id), "caregiver_id": caregiver["id"], "role": "lead"}))
    paired = PairingCreated(child_id=child_id, pairing_id=uuid.UUID(pairing_row["id"]),
                            caregiver_id=uuid.UUID(caregiver["id"]), role="lead", jurisdiction=HERE,
                            started_on=today)
    for service in (registry, visits, notify):
        await service.deliver(paired)

    me = bearer(roles=["caregiver"], jurisdiction=TOWNSHIP, caregiver_id=caregiver["id"], subject="seeding-caregiver")
    contact = _ok(await visits.client.post("/v1/contacts", headers=me, json={
        "child_id": str(child_id), "caregiver_id": caregiver["id"], "kind": "home_visit",
        # not before the county's midnight: the pairing above starts today
        "occurred_at": max(clock.from_env().now() - timedelta(hours=2),
                           clock.from_env().start_of(clock.from_env().today())).isoformat(),
        "notes": "观察到的秘密笔记", "location": {"latitude": 30.21234, "longitude": 120.17891},
        "follow_ups": [{"action": "跟进的秘密事项"}],
        "concerns": [{"category": "suspected_abuse", "severity": "urgent", "detail": "手臂上的秘密淤青"}]}))
    recipient = _ok(await notify.client.post("/v1/staff-recipients", headers=admin, json={
        "staff_id": "staff-secret-1", "jurisdiction": TOWNSHIP, "level": "township",
        "contacts": {"sms": "13700137000", "email": "staff.secret@example.cn"}}))

    seeded.caregiver_id = caregiver["id"]
    seeded.ids = {"child_id": str(child_id), "caregiver_id": caregiver["id"], "pairing_id": pairing_row["id"],
                  "contact_id": contact["id"], "concern_id": contact["concern_ids"][0],
                  "recipient_id": recipient["id"], "county_code": COUNTY, "record_kind": "child",
                  "record_id": str(child_id)}
    seeded.child_ids = {str(child_id), contact["id"], contact["concern_ids"][0], pairing_row["id"]}


# -- routes --------------------------------------------------------------------------------

OPERATIONS = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    path: str
    operation: dict[str, Any]


def routes(seeded: Seeded, name: str, methods: tuple[str, ...] = ("get",)) -> list[Route]:
    document = seeded.document(name)
    return [Route(name, method, path, operation) for path, item in document["paths"].items()
            if path not in OPERATIONS for method, operation in item.items() if method in methods]


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = target
    for key in ("anyOf", "oneOf", "allOf"):
        options = [option for option in schema.get(key, []) if option.get("type") != "null"]
        if options:
            return _resolve(options[0], document)
    return schema


def example(schema: dict[str, Any], document: dict[str, Any], name: str, ids: dict[str, str]) -> Any:
    """A plausible value, a seeded record's id where the name says which."""
    if name in ids:
        return ids[name]
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
        return {key: example(sub, document, key, ids) for key, sub in schema.get("properties", {}).items()
                if key in schema.get("required", [])}
    fmt = schema.get("format")
    if fmt == "uuid":
        return ANY_UUID
    if fmt == "date":
        return clock.from_env().today().isoformat()
    if fmt == "date-time":
        return clock.from_env().now().isoformat()
    if schema.get("pattern") == r"^\d{12}$" or name.endswith("_code"):
        return COUNTY
    return "x"


def request_for(seeded: Seeded, route: Route) -> tuple[str, dict[str, Any], Any]:
    """The URL with its path and required query parameters filled, and a body if one is needed."""
    document = seeded.document(route.service)
    path, query = route.path, {}
    for parameter in route.operation.get("parameters", []):
        value = example(parameter.get("schema", {}), document, parameter["name"], seeded.ids)
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", str(value))
        elif parameter["in"] == "query" and parameter.get("required"):
            query[parameter["name"]] = value
    body = None
    content = route.operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = example(content["application/json"]["schema"], document, "", seeded.ids)
    if query:
        path += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return path, query, body


def answer_text(response: httpx.Response) -> str:
    """What an answer shows: JSON or text as is; a spreadsheet's cells (its XML parts)."""
    kind = response.headers.get("content-type", "")
    if "spreadsheetml" in kind or response.content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(response.content)) as book:
            return "".join(book.read(part).decode("utf-8", "replace") for part in book.namelist()
                           if part.endswith(".xml"))
    return response.text


def leaked_secrets(service: str, text: str) -> list[str]:
    return [secret for secret in SECRETS[service] if secret in text]


def json_keys(value: Any) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((key, item))
            found.extend(json_keys(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(json_keys(item))
    return found


_MASKED = re.compile(r"\*")


def clear_sensitive_keys(keys: frozenset[str], body: Any) -> list[str]:
    """Sensitive keys whose value is shown (neither absent, empty nor masked with '*')."""
    return sorted({key for key, value in json_keys(body) if key in keys and value not in (None, [], {}, "")
                   and not (isinstance(value, str) and _MASKED.search(value))})

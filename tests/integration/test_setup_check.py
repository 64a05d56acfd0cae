"""`shouhu setup-check` against the real registry and notify apps (in-process, real
databases): a county with children registered and nothing configured is told every missing
piece — recipients for each rung, rosters, providers, and the expected counts 建档率 needs —
and a piece configured disappears from the list."""

from __future__ import annotations

from typing import AsyncIterator

import httpx
import pytest_asyncio

from services.notify.app import create_app as create_notify
from services.notify.entry import ENTRY as NOTIFY
from services.setup_check import check
from shared.crypto import FieldCipher
from tests.notify.conftest import notify_settings
from tests.registry.helpers import Registry, child_body, running_registry, staff_headers
from tests.support.auth import COUNTY, TOWNSHIP, make_token
from tests.support.databases import create_migrated_database, drop_database


@pytest_asyncio.fixture(loop_scope="session")
async def registry(infra) -> AsyncIterator[Registry]:
    async with running_registry(infra) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def notify(infra) -> AsyncIterator[httpx.AsyncClient]:
    url = await create_migrated_database(infra, "notify", NOTIFY.migrations_dir)
    app = create_notify(notify_settings(url), cipher=FieldCipher.development())
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://n") as client:
                yield client
    finally:
        await drop_database(infra, url)


async def test_setup_check_names_every_missing_piece(registry: Registry, notify: httpx.AsyncClient) -> None:
    for school in ("school-a", "school-b"):
        created = await registry.client.post("/v1/children", json=child_body(school_id=school), headers=staff_headers())
        assert created.status_code == 201, created.text
    token = make_token(roles=["county_staff"], jurisdiction=COUNTY)

    result = await check(notify, registry.client, token)
    assert result["complete"] is False and result["jurisdiction"] == COUNTY
    kinds = {(m["what"], m.get("rung") or m.get("kind") or m.get("channel")) for m in result["missing"]}
    assert {("recipients", "county"), ("duty_roster", None), ("provider", "sms"), ("provider", "email"),
            ("expected_counts", "township"), ("expected_counts", "school")} <= kinds
    expected = [m for m in result["missing"] if m["what"] == "expected_counts"]
    assert {(m["kind"], m["code"]) for m in expected} == {("township", TOWNSHIP), ("school", "school-a"),
                                                          ("school", "school-b")}

    for body in ({"kind": "township", "code": TOWNSHIP, "township_code": TOWNSHIP, "expected": 3},
                 {"kind": "school", "code": "school-a", "township_code": TOWNSHIP, "expected": 1}):
        assert (await registry.client.put("/v1/expected-counts", json=body,
                                          headers=staff_headers())).status_code == 200
    again = await check(notify, registry.client, token)
    assert [(m["kind"], m["code"]) for m in again["missing"] if m["what"] == "expected_counts"] == [
        ("school", "school-b")]

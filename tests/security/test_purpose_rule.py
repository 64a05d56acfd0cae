"""The purpose rule over every sensitive field of every service, walking every GET route of
every OpenAPI document: a sensitive value (planted in each service, or a field that
shared/purpose.py declares sensitive) may be in an answer only when that very request wrote a
read-audit row; and for a caller without `view_sensitive` and a stated purpose, only a row
whose purpose is one a relation implies (the paired caregiver, the author)."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
import pytest_asyncio

from shared.purpose import RELATION_PURPOSES, sensitive_keys
from tests.security.walk import (
    SECRETS, SERVICES, Seeded, answer_text, clear_sensitive_keys, leaked_secrets, request_for, routes,
    seeded_services,
)
from tests.support.auth import COUNTY, TOWNSHIP, bearer

STAFF = ["admin", "county_staff", "township_staff", "school_staff"]
STATED = "purpose-rule-check"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(infra) -> AsyncIterator[Seeded]:
    async for running in seeded_services(infra):
        yield running


def _without_the_rule(caregiver_id: str) -> dict[str, dict[str, str]]:
    return {
        "staff, purpose, no permission": {**bearer(roles=STAFF, jurisdiction=COUNTY, subject="p1"),
                                          "X-Purpose": STATED},
        "staff, permission, no purpose": bearer(roles=STAFF, jurisdiction=COUNTY, subject="p2",
                                                permissions=["view_sensitive"]),
        "admin, purpose, no permission": {**bearer(roles=["admin"], jurisdiction=COUNTY, subject="p3"),
                                          "X-Purpose": STATED},
        "service, permission, no purpose": bearer(roles=["service"], jurisdiction=COUNTY, subject="p4",
                                                  permissions=["view_sensitive"]),
        "paired caregiver, purpose": {**bearer(roles=["caregiver"], jurisdiction=TOWNSHIP, subject="p5",
                                               caregiver_id=caregiver_id), "X-Purpose": STATED},
    }


async def _walk(seeded: Seeded, name: str, who: str, headers: dict[str, str], methods: tuple[str, ...] = ("get",),
                ) -> list[tuple[str, str, list[str], list[str]]]:
    """(who, route, what was shown, the purposes audited for that request) per answer that showed any."""
    service = seeded.services[name]
    keys = sensitive_keys(name)
    shown = []
    for route in routes(seeded, name, methods):
        url, _, body = request_for(seeded, route)
        answer = await service.client.request(route.method.upper(), url, headers=headers, json=body)
        assert answer.status_code < 500, f"{who}: {route.method} {route.path} answered {answer.status_code}"
        if not 200 <= answer.status_code < 300 or not answer.content:
            continue
        text = answer_text(answer)
        body = answer.json() if "json" in answer.headers.get("content-type", "") else None
        revealed = leaked_secrets(name, text) + clear_sensitive_keys(keys, body)
        if revealed:
            async with service.pool.acquire() as conn:
                purposes = [row["purpose"] for row in await conn.fetch(
                    "SELECT purpose FROM read_audit WHERE request_id = $1", answer.headers["x-request-id"])]
            shown.append((who, f"{route.method.upper()} {route.path}", revealed, purposes))
    return shown


@pytest.mark.parametrize("name", SERVICES)
async def test_with_the_rule_the_fields_are_shown_and_every_such_read_is_audited(seeded: Seeded, name: str) -> None:
    """The control: with view_sensitive and a purpose the planted values do appear (so the walk
    above can fail), and each answer that shows them wrote its audit row with that purpose."""
    headers = {**bearer(roles=[*STAFF, "service"], jurisdiction=COUNTY, subject="auditor",
                        permissions=["view_sensitive"]), "X-Purpose": STATED}
    shown = await _walk(seeded, name, "with the rule", headers)
    unaudited = [f"{path} showed {revealed}, audited with {purposes}" for _, path, revealed, purposes in shown
                 if STATED not in purposes]
    assert not unaudited, "\n".join(unaudited)
    planted = {secret for _, _, revealed, _ in shown for secret in revealed if secret in SECRETS[name]}
    assert planted == set(SECRETS[name]), f"{name}: never shown with the rule: {set(SECRETS[name]) - planted}"


@pytest.mark.parametrize("name", SERVICES)
async def test_no_route_shows_a_sensitive_field_without_the_rule(seeded: Seeded, name: str) -> None:
    relations = set(RELATION_PURPOSES.values())
    broken = []
    # Reads first, then the writes (whose answers carry records too: a search, an acknowledgement).
    for methods in (("get",), ("post", "put", "patch", "delete")):
        for who, headers in _without_the_rule(seeded.caregiver_id).items():
            for _, route, revealed, purposes in await _walk(seeded, name, who, headers, methods):
                if not purposes or not set(purposes) <= relations:
                    broken.append(f"{who}: {route} showed {revealed}, audited with {purposes or 'nothing'}")
    assert not broken, "\n".join(broken)

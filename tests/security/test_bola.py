"""The BOLA matrix: every route of every service (from its OpenAPI document, every method)
called by every role from outside the seeded child's reach — another county with every
role and the broadest permission, and inside the county a caregiver not paired with the child,
the head of another school and the staff of another township. No answer is a 500; no
successful answer carries the child's records (their ids, name or planted sensitive values);
and nothing of the child's was changed by them (the change history names every writer)."""

from __future__ import annotations

import uuid
from typing import AsyncIterator

import pytest
import pytest_asyncio

from shared.auth import ROLES
from tests.security.walk import SECRETS, SERVICES, Seeded, request_for, routes, seeded_services
from tests.support.auth import COUNTY, OTHER_COUNTY, bearer

OTHER_TOWNSHIP = "330102002000"
ALL_METHODS = ("get", "post", "put", "patch", "delete")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(infra) -> AsyncIterator[Seeded]:
    async for running in seeded_services(infra):
        yield running


def _intruders(seeded: Seeded) -> dict[str, tuple[dict[str, str], bool]]:
    """name → (headers, whether the caller is outside the county: then even the caregiver's and
    recipient's ids must not show)."""
    sensitive = {"X-Purpose": "bola-check"}
    found: dict[str, tuple[dict[str, str], bool]] = {}
    for role in sorted(ROLES):
        claims = {"caregiver_id": str(uuid.uuid4())} if role == "caregiver" else {}
        found[f"{role} of another county"] = ({**bearer(roles=[role], jurisdiction=OTHER_COUNTY,
                                                        subject=f"intruder-{role}", permissions=["view_sensitive"],
                                                        **claims), **sensitive}, True)
    found["caregiver not paired"] = ({**bearer(roles=["caregiver"], jurisdiction=COUNTY, subject="intruder-cg",
                                               caregiver_id=str(uuid.uuid4()), permissions=["view_sensitive"]),
                                      **sensitive}, False)
    found["head of another school"] = ({**bearer(roles=["school_staff"], jurisdiction=COUNTY, subject="intruder-sch",
                                                 school_id="school-elsewhere", permissions=["view_sensitive"]),
                                        **sensitive}, False)
    found["staff of another township"] = ({**bearer(roles=["township_staff"], jurisdiction=OTHER_TOWNSHIP,
                                                    subject="intruder-twp", permissions=["view_sensitive"]),
                                           **sensitive}, False)
    return found


@pytest.mark.parametrize("name", SERVICES)
async def test_no_role_out_of_reach_reads_or_changes_the_childs_records(seeded: Seeded, name: str) -> None:
    service = seeded.services[name]
    child_marks = sorted(seeded.child_ids) + list(SECRETS[name]) + (["王小明"] if name == "registry" else [])
    county_marks = [seeded.caregiver_id, seeded.ids["recipient_id"]]
    leaks, calls = [], 0
    for methods in (("get",), ALL_METHODS[1:]):
        for route in routes(seeded, name, methods):
            url, _, body = request_for(seeded, route)
            for who, (headers, outside) in _intruders(seeded).items():
                answer = await service.client.request(route.method.upper(), url, headers=headers, json=body)
                calls += 1
                assert answer.status_code < 500, f"{who}: {route.method} {route.path} answered {answer.status_code}"
                if 200 <= answer.status_code < 300:
                    shown = [mark for mark in child_marks + (county_marks if outside else []) if mark in answer.text]
                    if shown:
                        leaks.append(f"{who}: {route.method.upper()} {route.path} → {answer.status_code} shows {shown}")
    assert calls > 0
    async with service.pool.acquire() as conn:
        changed = await conn.fetch(
            "SELECT record_kind, record_id, actor_subject FROM change_history"
            " WHERE actor_subject LIKE 'intruder-%' AND record_id = ANY($1)",
            sorted(seeded.child_ids | {seeded.caregiver_id, seeded.ids["recipient_id"]}))
    leaks += [f"{row['actor_subject']} changed {row['record_kind']} {row['record_id']}" for row in changed]
    assert not leaks, "\n".join(leaks)

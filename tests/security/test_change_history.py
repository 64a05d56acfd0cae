"""Who changed what: every write to a record people keep leaves an append-only change-history
row naming the actor (subject, roles, jurisdiction) and the request, written in the write's
own transaction; county staff read it through the API, within their jurisdiction, and never a
value. The access log names the route template and the actor, never the path as sent."""

from __future__ import annotations

import json
import logging
import uuid
from typing import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from shared.logging import configure_logging
from tests.pairing.harness import Harness, Place, start_harness, staff
from tests.registry.helpers import full_child_body, staff_headers
from tests.support.auth import COUNTY, OTHER_COUNTY, TOWNSHIP, bearer


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pairing(infra) -> AsyncIterator[Harness]:
    async for harness in start_harness(infra):
        yield harness


async def _history(client, kind: str, record_id: str, headers: dict[str, str]) -> list[dict]:
    answer = await client.get(f"/v1/history/{kind}/{record_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def test_a_childs_changes_name_who_made_them_and_which_fields(registry) -> None:
    creator = staff_headers(subject="officer-a")
    created = await registry.client.post("/v1/children", json=full_child_body(), headers=creator)
    assert created.status_code == 201, created.text
    child_id = created.json()["id"]
    editor = bearer(roles=["township_staff"], jurisdiction=TOWNSHIP, subject="officer-b")
    patched = await registry.client.patch(f"/v1/children/{child_id}", json={"grade": "四年级", "address": "新地址1号"},
                                          headers={**editor, "If-Match": '"1"'})
    assert patched.status_code == 200, patched.text

    items = await _history(registry.client, "child", child_id, staff_headers(subject="auditor"))
    assert [item["operation"] for item in items] == ["insert", "update"]
    insert, update = items
    assert insert["actor"] == {"subject": "officer-a", "roles": ["county_staff"], "jurisdiction": COUNTY}
    assert insert["request_id"] == created.headers["x-request-id"]
    assert update["actor"] == {"subject": "officer-b", "roles": ["township_staff"], "jurisdiction": TOWNSHIP}
    assert update["request_id"] == patched.headers["x-request-id"]
    assert {"grade", "address_enc"} <= set(update["fields"]) and "name" not in update["fields"]
    # Names of fields only: no value of the record, masked or not, is in the history.
    for secret in ("新地址1号", "四年级", "王小明", "13800138000", full_child_body()["national_id"]):
        assert secret not in json.dumps(items, ensure_ascii=False)

    # County staff and administrators read it; others are refused; elsewhere there is none.
    township = await registry.client.get(f"/v1/history/child/{child_id}", headers=editor)
    assert township.status_code == 403
    elsewhere = await _history(registry.client, "child", child_id, staff_headers(OTHER_COUNTY))
    assert elsewhere == []
    page = await registry.client.get(f"/v1/history/child/{child_id}?limit=1", headers=staff_headers())
    assert len(page.json()["items"]) == 1 and page.json()["next_cursor"]
    rest = await registry.client.get(f"/v1/history/child/{child_id}?limit=1&cursor={page.json()['next_cursor']}",
                                     headers=staff_headers())
    assert rest.json()["items"][0]["operation"] == "update" and rest.json()["next_cursor"] is None


async def test_the_history_is_append_only_and_a_write_without_a_request_is_the_systems(registry) -> None:
    async with registry.pool.acquire() as conn:
        # A connection the api used before carries no actor any more (RESET ALL on release).
        assert await conn.fetchval("SELECT current_setting('shouhu.actor', true)") in (None, "")
        await conn.execute("UPDATE children SET grade = '五年级' WHERE id = (SELECT id FROM children LIMIT 1)")
        last = await conn.fetchrow("SELECT actor_subject, actor_roles FROM change_history ORDER BY id DESC LIMIT 1")
        assert (last["actor_subject"], last["actor_roles"]) == ("system", ["system"])
        await conn.execute("INSERT INTO read_audit (subject, roles, action, record_kind, record_ids, fields, purpose)"
                           " VALUES ('x', '{}', 'read', 'child', '{}', '{}', 'test')")
        for statement in ("UPDATE change_history SET actor_subject = 'someone else'", "DELETE FROM change_history",
                          "TRUNCATE change_history", "UPDATE read_audit SET purpose = 'x'", "TRUNCATE read_audit"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)


async def test_pairings_and_caregivers_record_their_actor_and_the_childs_place(pairing: Harness) -> None:
    place = Place.fresh()
    child_id = await pairing.child(place)
    caregiver = await pairing.caregiver(place, contact={"phone": "+8613900139000"})
    paired = await pairing.pair(child_id, caregiver["id"])
    assert paired.status_code == 201, paired.text
    pairing_id = paired.json()["id"]
    county = staff()
    [created] = await _history(pairing.client, "pairing", pairing_id, county)
    assert created["operation"] == "insert" and created["jurisdiction"].startswith(place.township[:9])
    assert created["actor"]["roles"] == ["county_staff"] and created["request_id"] == paired.headers["x-request-id"]
    [registered] = await _history(pairing.client, "caregiver", caregiver["id"], county)
    assert "phone_enc" in registered["fields"] and "+8613900139000" not in json.dumps(registered)
    assert await _history(pairing.client, "pairing", pairing_id, staff(OTHER_COUNTY)) == []
    # The child itself is the registry's: pairing's projection of it keeps no history here.
    assert await _history(pairing.client, "child", str(child_id), county) == []


async def test_the_access_log_names_the_route_and_the_actor_never_the_path_or_the_query(registry, capsys) -> None:
    configure_logging("registry")
    try:
        child_id = str(uuid.uuid4())
        await registry.client.get(f"/v1/children/{child_id}?purpose=王小明13800138000",
                                  headers=staff_headers(subject="officer-log"))
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        lines = [line for line in lines if line.get("logger") != "httpx"]  # the test's own client
    finally:
        logging.getLogger().handlers.clear()
    [line] = [line for line in lines if line.get("event") == "request" and line.get("actor") == "officer-log"]
    assert line["route"] == "/v1/children/{child_id}" and line["method"] == "GET" and line["status"] == 404
    assert isinstance(line["latency_ms"], float) and line["request_id"]
    text = json.dumps(lines, ensure_ascii=False)
    assert child_id not in text and "王小明" not in text and "13800138000" not in text


async def test_an_import_records_its_uploader_then_the_workers_claim_and_end(registry) -> None:
    from tests.registry import sheet_files
    from tests.registry.test_imports import _run, _upload

    uploader = staff_headers(subject="officer-upload")
    uploaded = await _upload(registry, sheet_files.xlsx([sheet_files.row()]), headers=uploader)
    assert uploaded.status_code == 202, uploaded.text
    job_id = uploaded.json()["id"]
    await _run(registry, job_id)
    items = await _history(registry.client, "import", job_id, staff_headers(subject="auditor"))
    assert [item["operation"] for item in items] == ["insert", "update", "update"]
    assert items[0]["actor"]["subject"] == "officer-upload" and "file_sha256" in items[0]["fields"]
    assert items[1]["actor"]["subject"] == "system" and "claimed_by" in items[1]["fields"]
    assert {"status", "content", "finished_at"} <= set(items[2]["fields"])

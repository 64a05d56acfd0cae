"""The child record over the API, on real PostgreSQL: create, masking per role, audit,
out-of-scope 404, optimistic concurrency, lifecycle and its events, search, growth notes."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

import asyncpg
import pytest

from services.registry import domain
from shared.contracts import decode
from tests.registry.helpers import birth_year, child_body, full_child_body, national_id, staff_headers
from tests.support.auth import COUNTY, OTHER_COUNTY, TOWNSHIP

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock

PERSONAL = ("王小明", "王奶奶", "13800138000", "13912345678", "某村", "incarcerated_parent", "服刑")


async def _create(registry, body=None, headers=None):
    response = await registry.client.post("/v1/children", json=body or full_child_body(),
                                          headers=headers or staff_headers())
    assert response.status_code == 201, response.text
    return response.json()


async def test_full_record_is_encrypted_at_rest_and_masked_for_plain_staff(registry) -> None:
    body = full_child_body()
    created = await _create(registry, body)
    assert created["masked"] is True
    assert created["national_id"] == body["national_id"][:4] + "*" * 10 + body["national_id"][-4:]
    assert created["guardians"][0]["phone"] == "138****8000"
    assert created["parents"][0]["phone"] == "139****5678"
    assert created["sensitive_categories"] is None and created["priority_reason"] is None
    assert created["address"].endswith("****") and "12号" not in created["address"]

    row = (await registry.fetch("SELECT * FROM children WHERE id = $1", uuid.UUID(created["id"])))[0]
    stored = json.dumps({k: str(v) for k, v in dict(row).items()}, ensure_ascii=False)
    for clear in (body["national_id"], "13800138000", "incarcerated_parent", "服刑", "某村12号", "王奶奶"):
        assert clear not in stored
    assert row["national_id_enc"].startswith("v1.dev1.")

    # view_sensitive without a stated purpose: still masked; nothing audited.
    no_purpose = await registry.client.get(f"/v1/children/{created['id']}", headers=staff_headers(sensitive=True))
    assert no_purpose.json()["masked"] is True
    # a purpose without the permission: still masked.
    no_permission = await registry.client.get(f"/v1/children/{created['id']}", headers=staff_headers(purpose="visit"))
    assert no_permission.json()["masked"] is True
    assert await registry.fetchval("SELECT count(*) FROM read_audit") == 0

    clear = await registry.client.get(f"/v1/children/{created['id']}",
                                      headers=staff_headers(sensitive=True, purpose="case%20review", subject="chief"))
    shown = clear.json()
    assert shown["masked"] is False and shown["national_id"] == body["national_id"]
    assert shown["sensitive_categories"] == ["incarcerated_parent"]
    assert shown["guardians"][0]["phone"] == "+8613800138000"
    audit = await registry.fetch("SELECT * FROM read_audit")
    assert len(audit) == 1
    assert audit[0]["subject"] == "chief" and audit[0]["purpose"] == "case review"
    assert audit[0]["record_ids"] == [uuid.UUID(created["id"])]
    assert {"national_id", "sensitive_categories", "guardians.phone"} <= set(audit[0]["fields"])


async def test_audit_trail_refuses_update_and_delete(registry) -> None:
    async with registry.pool.acquire() as conn:
        await conn.execute("INSERT INTO read_audit (subject, roles, action, record_kind, record_ids, fields, purpose)"
                           " VALUES ('x', '{}', 'read', 'child', '{}', '{}', 'test')")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE read_audit SET purpose = 'changed'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM read_audit")


async def test_out_of_jurisdiction_reads_and_writes_answer_404(registry) -> None:
    created = await _create(registry, child_body())
    elsewhere = staff_headers(OTHER_COUNTY, sensitive=True, purpose="x")
    assert (await registry.client.get(f"/v1/children/{created['id']}", headers=elsewhere)).status_code == 404
    patch = await registry.client.patch(f"/v1/children/{created['id']}", json={"version": 1, "grade": "四年级"},
                                        headers=elsewhere)
    assert patch.status_code == 404
    other_township = staff_headers("330102003000", role="township_staff")
    assert (await registry.client.get(f"/v1/children/{created['id']}", headers=other_township)).status_code == 404
    listed = await registry.client.get("/v1/children", headers=elsewhere)
    assert listed.json()["items"] == []
    outside = await registry.client.get("/v1/children", params={"township_code": "330103001000"},
                                        headers=other_township)
    assert outside.status_code == 403 and outside.json()["errors"][0]["field"] == "query.township_code"
    caregiver = staff_headers(TOWNSHIP, role="caregiver")
    assert (await registry.client.get(f"/v1/children/{created['id']}", headers=caregiver)).status_code == 403


async def test_national_id_must_agree_with_birth_date_and_gender(registry) -> None:
    before = await registry.fetchval("SELECT count(*) FROM children")
    female_id = national_id(date(2016, 3, 9), "female")
    response = await registry.client.post("/v1/children", json=child_body(national_id=female_id),
                                          headers=staff_headers())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.national_id"
    assert female_id not in response.text
    wrong = await registry.client.post("/v1/children", json=child_body(national_id=female_id[:-1] + "0"),
                                       headers=staff_headers())
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "body.national_id"
    bad_phone = full_child_body(national_id=None)
    bad_phone["guardians"][0]["phone"] = "12345"
    response = await registry.client.post("/v1/children", json=bad_phone, headers=staff_headers())
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.guardians.0.phone"
    assert await registry.fetchval("SELECT count(*) FROM children") == before


async def test_the_same_national_id_cannot_be_registered_twice(registry) -> None:
    number = national_id(date(2015, 5, 5), "female")
    await _create(registry, child_body(gender="female", birth_date="2015-05-05", national_id=number))
    again = await registry.client.post(
        "/v1/children", json=child_body(gender="female", birth_date="2015-05-05", national_id=number.lower()),
        headers=staff_headers())
    assert again.status_code == 409
    assert number not in again.text


async def test_a_stale_or_concurrent_update_answers_412_and_is_not_applied(registry) -> None:
    created = await _create(registry, child_body())
    url = f"/v1/children/{created['id']}"
    results = await asyncio.gather(*[
        registry.client.patch(url, json={"grade": grade}, headers={**staff_headers(), "If-Match": '"1"'})
        for grade in ("四年级", "五年级")])
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 412], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 200)
    assert winner.headers["ETag"] == '"2"'
    current = (await registry.client.get(url, headers=staff_headers())).json()
    assert current["version"] == 2 and current["grade"] == winner.json()["grade"]
    missing = await registry.client.patch(url, json={"grade": "六年级"}, headers=staff_headers())
    assert missing.status_code == 428


async def test_lifecycle_events_carry_no_personal_data(registry) -> None:
    created = await _create(registry)
    child_id = created["id"]
    url = f"/v1/children/{child_id}"
    moved = await registry.client.post(f"{url}/transfer", headers=staff_headers(), json={
        "version": 1, "school_id": "school-2",
        "jurisdiction": {"county_code": COUNTY, "township_code": "330102003000", "village_code": "330102003050"}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "transferred"
    out_of_county = await registry.client.post(f"{url}/transfer", headers=staff_headers(), json={
        "version": 2, "jurisdiction": {"county_code": "330105000000", "township_code": "330105001000"}})
    assert out_of_county.status_code == 422
    closed = await registry.client.post(f"{url}/close", json={"version": 2, "reason": "parents_returned"},
                                        headers=staff_headers())
    assert closed.status_code == 200 and closed.json()["close_reason"] == "parents_returned"
    edit_closed = await registry.client.patch(url, json={"version": 3, "grade": "x"}, headers=staff_headers())
    assert edit_closed.status_code == 409
    again = await registry.client.post(f"{url}/close", json={"version": 3, "reason": "other"}, headers=staff_headers())
    assert again.status_code == 409
    reopened = await registry.client.post(f"{url}/reopen", json={"version": 3}, headers=staff_headers())
    assert reopened.status_code == 200 and reopened.json()["status"] == "active"
    assert reopened.json()["close_reason"] is None
    updated = await registry.client.patch(url, json={"priority": False}, headers={**staff_headers(), "If-Match": '"4"'})
    assert updated.status_code == 200

    rows = await registry.fetch("SELECT event_type, headers, payload::text AS payload FROM outbox"
                                " WHERE message_key = $1 ORDER BY id", child_id)
    assert [r["event_type"].split(".")[2] for r in rows] == [
        "ChildRegistered", "ChildTransferred", "ChildClosed", "ChildReopened", "ChildUpdated"]
    versions = []
    for row in rows:
        envelope = decode({k: v.encode() for k, v in row["headers"].items()}, child_id.encode(),
                          row["payload"].encode())
        versions.append(envelope.data.record_version)
        assert domain.event_is_personal_data_free(envelope.data)
        text = row["payload"] + json.dumps(row["headers"], ensure_ascii=False)
        for personal in PERSONAL + (full_child_body()["national_id"][:12],):
            assert personal not in text
    assert versions == [1, 2, 3, 4, 5]


async def test_search_by_name_pinyin_initials_and_surname_reading(registry) -> None:
    for name in ("曾小明", "单丽丽", "阿依古丽·买买提"):
        await _create(registry, child_body(name=name))

    async def names(query: str) -> list[str]:
        response = await registry.client.post("/v1/children/search", json={"query": query}, headers=staff_headers())
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert "曾小明" in await names("zengxiaoming")
    assert "曾小明" in await names("Zeng Xiao")
    assert "曾小明" in await names("zxm")
    assert "单丽丽" in await names("shanlili")
    assert "单丽丽" not in await names("danlili")
    assert "阿依古丽·买买提" in await names("古丽")
    # One or two characters: no trigram in the query, the names' characters narrow it
    # (migration 0140); still a substring anywhere in the name, not only the surname.
    assert "曾小明" in await names("曾") and "单丽丽" not in await names("曾")
    found = await names("丽")
    assert "单丽丽" in found and "阿依古丽·买买提" in found and "曾小明" not in found
    assert "曾小明" in await names("小明") and "曾小明" not in await names("明小")
    assert "曾小明" in await names("zx") and "单丽丽" not in await names("zx")
    elsewhere = await registry.client.post("/v1/children/search", json={"query": "曾小明"},
                                           headers=staff_headers(OTHER_COUNTY))
    assert elsewhere.json()["items"] == []
    in_query = await registry.client.get("/v1/children?name=x", headers=staff_headers())
    # Names are never filters: a name in the query string is refused, without repeating it.
    assert in_query.status_code == 422 and in_query.json()["errors"][0]["field"] == "query.name"


async def test_list_filters_by_category_status_and_age(registry) -> None:
    await _create(registry, child_body(name="刘一", birth_date=f"{birth_year(16)}-01-01", categories=["migrant"]))
    migrants = await registry.client.get("/v1/children?category=migrant", headers=staff_headers())
    assert {item["name"] for item in migrants.json()["items"]} == {"刘一"}
    teens = await registry.client.get("/v1/children?min_age=14&max_age=17", headers=staff_headers())
    assert "刘一" in {item["name"] for item in teens.json()["items"]}
    young = await registry.client.get("/v1/children?max_age=12", headers=staff_headers())
    assert "刘一" not in {item["name"] for item in young.json()["items"]}
    bad = await registry.client.get("/v1/children?min_age=12&max_age=6", headers=staff_headers())
    assert bad.status_code == 422


async def test_growth_notes_are_encrypted_and_shown_only_with_purpose(registry) -> None:
    created = await _create(registry, child_body())
    url = f"/v1/children/{created['id']}/growth-notes"
    added = await registry.client.post(url, json={"noted_on": "2026-10-01", "area": "emotions",
                                                  "text": "想念妈妈，情绪低落"}, headers=staff_headers())
    assert added.status_code == 201
    stored = await registry.fetchval("SELECT note_enc FROM growth_notes WHERE child_id = $1",
                                     uuid.UUID(created["id"]))
    assert "妈妈" not in stored
    masked = (await registry.client.get(url, headers=staff_headers())).json()
    assert masked["items"][0]["text"] is None and masked["items"][0]["area"] == "emotions"
    shown = (await registry.client.get(url, headers=staff_headers(sensitive=True, purpose="review"))).json()
    assert shown["items"][0]["text"] == "想念妈妈，情绪低落"
    assert await registry.fetchval("SELECT count(*) FROM read_audit WHERE action = 'growth_notes'") == 1


async def test_idempotent_create_returns_the_first_answer(registry) -> None:
    headers = {**staff_headers(), "Idempotency-Key": str(uuid.uuid4())}
    body = full_child_body(national_id=national_id(date(2014, 2, 2), "male"), birth_date="2014-02-02")
    first = await registry.client.post("/v1/children", json=body, headers=headers)
    second = await registry.client.post("/v1/children", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    stored = await registry.fetchval("SELECT response::text FROM idempotency_keys WHERE idem_key = $1",
                                     headers["Idempotency-Key"])
    assert body["national_id"] not in stored and "13800138000" not in stored


async def test_guardian_contacts_follow_the_purpose_rule_and_are_audited(registry) -> None:
    from tests.support.auth import bearer

    created = await _create(registry, full_child_body())
    path = f"/v1/children/{created['id']}/guardian-contacts"
    before = await registry.fetchval("SELECT count(*) FROM read_audit WHERE action = 'guardian_contacts'")

    refused = await registry.client.get(path, headers=staff_headers(sensitive=True, purpose="x"))
    assert refused.status_code == 403
    # Neither the service role nor admin reads a clear phone without view_sensitive and a purpose.
    for caller in (bearer(roles=["service"], jurisdiction="000000000000", subject="notify"),
                   bearer(roles=["admin"], jurisdiction="000000000000", subject="it-admin"),
                   bearer(roles=["service"], jurisdiction="000000000000", subject="notify",
                          permissions=["view_sensitive"])):
        masked = await registry.client.get(path, headers=caller)
        assert masked.status_code == 200 and masked.json()["masked"] is True
        assert masked.json()["guardians"][0]["phone"] == "138****8000"
    assert await registry.fetchval("SELECT count(*) FROM read_audit WHERE action = 'guardian_contacts'") == before

    service = {**bearer(roles=["service"], jurisdiction="000000000000", subject="notify",
                        permissions=["view_sensitive"]), "X-Purpose": "notification delivery"}
    answer = await registry.client.get(path, headers=service)
    assert answer.status_code == 200 and answer.json()["masked"] is False
    guardians = answer.json()["guardians"]
    assert guardians and guardians[0]["phone"] == "+8613800138000"
    assert set(guardians[0]) == {"id", "relation", "phone", "entrusted"}, "no name, no address"
    assert "王奶奶" not in answer.text
    audited = await registry.fetch("SELECT subject, roles, purpose, fields, request_id FROM read_audit"
                                   " WHERE action = 'guardian_contacts' ORDER BY id")
    assert len(audited) == before + 1
    assert (audited[-1]["subject"], audited[-1]["roles"], audited[-1]["purpose"], audited[-1]["fields"]) == (
        "notify", ["service"], "notification delivery", ["guardians.phone", "parents.phone"])
    assert audited[-1]["request_id"] == answer.headers["x-request-id"]

    elsewhere = bearer(roles=["service"], jurisdiction=OTHER_COUNTY, subject="notify")
    assert (await registry.client.get(path, headers=elsewhere)).status_code == 404


async def test_the_children_list_pages_by_cursor_to_the_last_record(registry) -> None:
    created = {(await _create(registry, child_body()))["id"] for _ in range(3)}
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        page = (await registry.client.get("/v1/children", headers=staff_headers(), params={
            "limit": 2, **({"cursor": cursor} if cursor else {})})).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert created <= set(seen) and len(seen) == len(set(seen))
    forged = await registry.client.get("/v1/children", params={"cursor": "AAAA"}, headers=staff_headers())
    assert forged.status_code == 422 and forged.json()["errors"][0]["field"] == "query.cursor"

"""Edits never erase what the editor could not see: a masked record sent back unchanged
keeps every stored value; guardians and parents are added, changed and removed by entry id;
each edit is a version with its ChildUpdated event. Real PostgreSQL, through the API."""

from __future__ import annotations

import pytest

from tests.registry.helpers import full_child_body, staff_headers

pytestmark = pytest.mark.clock

CLEAR = staff_headers(sensitive=True, purpose="check")


async def _create(registry) -> dict:
    response = await registry.client.post("/v1/children", json=full_child_body(), headers=staff_headers())
    assert response.status_code == 201, response.text
    return response.json()


async def _clear(registry, child_id: str) -> dict:
    return (await registry.client.get(f"/v1/children/{child_id}", headers=CLEAR)).json()


async def test_a_masked_record_sent_back_keeps_every_stored_value(registry) -> None:
    created = await _create(registry)
    before = await _clear(registry, created["id"])
    shown = created  # what a clerk without view_sensitive was shown
    guardian = {**shown["guardians"][0], "phone": shown["guardians"][0]["phone"]}
    body = {"version": 1, "grade": "四年级", "national_id": shown["national_id"], "address": shown["address"],
            "sensitive_categories": None, "priority_reason": None,
            "guardians": [{"id": guardian["id"], "phone": guardian["phone"], "name": "王外婆"}],
            "parents": [{"id": shown["parents"][0]["id"], "phone": shown["parents"][0]["phone"]}]}
    response = await registry.client.patch(f"/v1/children/{created['id']}", json=body, headers=staff_headers())
    assert response.status_code == 200, response.text
    after = await _clear(registry, created["id"])
    assert after["grade"] == "四年级" and after["version"] == 2
    for field in ("national_id", "address", "sensitive_categories", "priority_reason", "parents"):
        assert after[field] == before[field], field
    kept = after["guardians"][0]
    assert kept["name"] == "王外婆" and kept["id"] == before["guardians"][0]["id"]
    for field in ("phone", "address", "health", "occupation", "age", "relation"):
        assert kept[field] == before["guardians"][0][field], field


async def test_a_masked_value_that_is_not_the_stored_ones_mask_is_refused(registry) -> None:
    created = await _create(registry)
    url = f"/v1/children/{created['id']}"
    wrong_mask = {"version": 1, "guardians": [{"id": created["guardians"][0]["id"], "phone": "139****0000"}]}
    response = await registry.client.patch(url, json=wrong_mask, headers=staff_headers())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.guardians.0.phone"
    assert "遮蔽" in response.json()["errors"][0]["reason"]
    new_with_mask = {"version": 1, "guardians": [{"relation": "relative", "name": "王舅舅", "phone": "138****8000"}]}
    response = await registry.client.patch(url, json=new_with_mask, headers=staff_headers())
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.guardians.0.phone"
    assert (await _clear(registry, created["id"]))["version"] == 1, "nothing applied"


async def test_guardians_and_parents_are_edited_one_entry_at_a_time(registry) -> None:
    created = await _create(registry)
    url = f"/v1/children/{created['id']}"
    first = created["guardians"][0]["id"]
    added = await registry.client.post(f"{url}/guardians", headers={**staff_headers(), "If-Match": '"1"'},
                                       json={"relation": "relative", "relation_word": "舅舅", "name": "王舅舅",
                                             "phone": "13700137000"})
    assert added.status_code == 201, added.text
    assert added.headers["ETag"] == '"2"'
    second = added.json()["guardians"][1]
    assert second["relation_word"] == "舅舅" and second["phone"] == "137****7000" and second["id"] != first

    changed = await registry.client.patch(f"{url}/guardians/{first}", json={"version": 2, "phone": "13600136000"},
                                          headers=staff_headers())
    assert changed.status_code == 200, changed.text
    record = await _clear(registry, created["id"])
    assert record["guardians"][0]["phone"] == "+8613600136000"
    assert record["guardians"][0]["health"] == "高血压" and record["guardians"][0]["address"], "the rest kept"

    stale = await registry.client.delete(f"{url}/guardians/{first}", headers={**staff_headers(), "If-Match": '"2"'})
    assert stale.status_code == 412
    removed = await registry.client.delete(f"{url}/guardians/{first}", headers={**staff_headers(), "If-Match": '"3"'})
    assert removed.status_code == 200
    assert [g["id"] for g in removed.json()["guardians"]] == [second["id"]]
    gone = await registry.client.patch(f"{url}/guardians/{first}", json={"version": 4, "name": "某"},
                                       headers=staff_headers())
    assert gone.status_code == 404

    parent = created["parents"][0]["id"]
    moved = await registry.client.patch(f"{url}/parents/{parent}", json={"version": 4, "work_place": "浙江省宁波市"},
                                        headers=staff_headers())
    assert moved.status_code == 200
    record = await _clear(registry, created["id"])
    assert record["parents"][0]["work_place"] == "浙江省宁波市"
    assert record["parents"][0]["phone"] == "+8613912345678" and record["parents"][0]["name"] == "李某"
    third = await registry.client.post(f"{url}/parents", json={"version": 5, "relation": "father"},
                                       headers=staff_headers())
    assert third.status_code == 201
    full = await registry.client.post(f"{url}/parents", json={"version": 6, "relation": "father"},
                                      headers=staff_headers())
    assert full.status_code == 422 and full.json()["errors"][0]["field"] == "body.parents"
    events = await registry.fetch(
        "SELECT event_type FROM outbox WHERE message_key = $1 ORDER BY id", created["id"])
    assert [e["event_type"] for e in events].count("cn.shouhu.ChildUpdated.v1") == 5

"""The console's administration page changes routing rules, recipients and the duty roster:
each change names the version it read (If-Match), says who made it (`updated_by` and the
change history), and is refused with the field or the reason when it cannot be made."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from services.notify.app import create_app
from shared import clock
from shared.crypto import FieldCipher
from tests.notify.conftest import notify_settings
from tests.notify.support import COUNTY, TOWNSHIP
from tests.support.auth import OTHER_COUNTY, bearer

pytestmark = pytest.mark.clock

OFFICER = bearer(roles=["county_staff"], jurisdiction=COUNTY, subject="officer-li")
CLERK = bearer(roles=["township_staff"], jurisdiction=TOWNSHIP, subject="clerk-wang")
ELSEWHERE = bearer(roles=["county_staff"], jurisdiction=OTHER_COUNTY, subject="officer-far")
RULE = f"/v1/routing-rules/{COUNTY}/DutyDueSoon/caregiver"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(notify_db) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(notify_settings(notify_db, registry_base_url="http://127.0.0.1:9"),
                     cipher=FieldCipher.development())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            yield client


async def history(api: httpx.AsyncClient, kind: str, record_id: str) -> list[tuple[str, str]]:
    answer = await api.get(f"/v1/history/{kind}/{record_id}", headers=OFFICER)
    assert answer.status_code == 200, answer.text
    return [(item["operation"], item["actor"]["subject"]) for item in answer.json()["items"]]


async def test_a_county_rule_is_set_changed_and_removed_back_to_the_default(api) -> None:
    body = {"template": "duty_due_soon", "channels": ["in_app", "sms"]}
    created = await api.put(RULE, headers=OFFICER, json=body)
    assert created.status_code == 200 and created.json()["updated_by"] == "officer-li"
    changed = await api.put(RULE, headers={**OFFICER, "If-Match": created.headers["ETag"]},
                            json={**body, "channels": ["in_app"]})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'

    assert (await api.delete(RULE, headers=OFFICER)).status_code == 428
    assert (await api.delete(RULE, headers={**OFFICER, "If-Match": '"1"'})).status_code == 412
    assert (await api.delete(RULE, headers={**CLERK, "If-Match": '"2"'})).status_code == 403
    far = bearer(roles=["county_staff"], jurisdiction=OTHER_COUNTY)
    assert (await api.delete(RULE, headers={**far, "If-Match": '"2"'})).status_code == 404  # outside scope
    assert (await api.delete(RULE, headers={**OFFICER, "If-Match": '"2"'})).status_code == 204
    assert (await api.delete(RULE, headers={**OFFICER, "If-Match": '"2"'})).status_code == 404

    rules = (await api.get("/v1/routing-rules", params={"county_code": COUNTY}, headers=OFFICER)).json()["items"]
    due = next(r for r in rules if r["event_type"] == "DutyDueSoon" and r["audience"] == "caregiver")
    assert due["county_code"] == ""  # the default again
    assert await history(api, "routing_rule", f"{COUNTY}:DutyDueSoon:caregiver") == [
        ("insert", "officer-li"), ("update", "officer-li"), ("delete", "officer-li")]


async def test_a_shift_is_changed_with_its_version_and_removed(api) -> None:
    now = clock.from_env().now()
    recipient = await api.post("/v1/staff-recipients", headers={**CLERK, "Idempotency-Key": str(uuid.uuid4())},
                               json={"staff_id": f"twp-{uuid.uuid4().hex[:6]}", "jurisdiction": TOWNSHIP,
                                     "level": "township", "contacts": {"sms": "13800138000"}})
    assert recipient.status_code == 201 and recipient.json()["updated_by"] == "clerk-wang"
    other = await api.post("/v1/staff-recipients", headers=CLERK, json={
        "staff_id": f"twp-{uuid.uuid4().hex[:6]}", "jurisdiction": TOWNSHIP, "level": "township"})
    shift = await api.post("/v1/duty-roster", headers=CLERK, json={
        "staff_recipient_id": recipient.json()["id"], "jurisdiction": TOWNSHIP,
        "starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=8)).isoformat()})
    assert shift.status_code == 201 and shift.json()["version"] == 1 and shift.json()["updated_by"] == "clerk-wang"
    path = f"/v1/duty-roster/{shift.json()['id']}"

    later = {"ends_at": (now + timedelta(hours=12)).isoformat()}
    assert (await api.patch(path, headers=CLERK, json=later)).status_code == 428
    backwards = await api.patch(path, headers={**CLERK, "If-Match": '"1"'},
                                json={"ends_at": (now - timedelta(hours=1)).isoformat()})
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "body.ends_at"
    village = await api.patch(path, headers={**CLERK, "If-Match": '"1"'}, json={"jurisdiction": "330102001001"})
    assert village.status_code == 422 and village.json()["errors"][0]["field"] == "body.jurisdiction"
    nobody = await api.patch(path, headers={**CLERK, "If-Match": '"1"'}, json={"staff_recipient_id": str(uuid.uuid4())})
    assert nobody.status_code == 422 and nobody.json()["errors"][0]["field"] == "body.staff_recipient_id"
    assert (await api.patch(path, headers={**ELSEWHERE, "If-Match": '"1"'}, json=later)).status_code == 404
    moved = await api.patch(path, headers={**OFFICER, "If-Match": '"1"'},
                            json={**later, "staff_recipient_id": other.json()["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.headers["ETag"] == '"2"' and moved.json()["staff_id"] == other.json()["staff_id"]
    assert moved.json()["updated_by"] == "officer-li"
    assert (await api.patch(path, headers={**CLERK, "If-Match": '"1"'}, json=later)).status_code == 412

    assert (await api.delete(path, headers={**CLERK, "If-Match": '"1"'})).status_code == 404  # stale
    assert (await api.delete(path, headers={**CLERK, "If-Match": '"2"'})).status_code == 204
    assert await history(api, "duty_roster", shift.json()["id"]) == [
        ("insert", "clerk-wang"), ("update", "officer-li"), ("delete", "clerk-wang")]


async def test_a_recipient_on_duty_is_kept_until_their_shifts_are_gone(api) -> None:
    now = clock.from_env().now()
    created = await api.post("/v1/staff-recipients", headers=CLERK, json={
        "staff_id": f"twp-{uuid.uuid4().hex[:6]}", "jurisdiction": TOWNSHIP, "level": "township"})
    rid = created.json()["id"]
    past = await api.post("/v1/duty-roster", headers=CLERK, json={
        "staff_recipient_id": rid, "jurisdiction": TOWNSHIP, "starts_at": (now - timedelta(days=2)).isoformat(),
        "ends_at": (now - timedelta(days=1)).isoformat()})
    coming = await api.post("/v1/duty-roster", headers=CLERK, json={
        "staff_recipient_id": rid, "jurisdiction": TOWNSHIP, "starts_at": (now + timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat()})
    assert past.status_code == coming.status_code == 201

    path = f"/v1/staff-recipients/{rid}"
    assert (await api.delete(path, headers=CLERK)).status_code == 428
    assert (await api.delete(path, headers={**ELSEWHERE, "If-Match": '"1"'})).status_code == 404
    assert (await api.delete(path, headers={**CLERK, "If-Match": '"7"'})).status_code == 412
    on_duty = await api.delete(path, headers={**CLERK, "If-Match": '"1"'})
    assert on_duty.status_code == 409 and on_duty.json()["code"] == "recipient_on_duty"

    assert (await api.delete(f"/v1/duty-roster/{coming.json()['id']}", headers=CLERK)).status_code == 204
    assert (await api.delete(path, headers={**CLERK, "If-Match": '"1"'})).status_code == 204
    assert (await api.get(path, headers=CLERK)).status_code == 404
    assert await history(api, "recipient", rid) == [("insert", "clerk-wang"), ("delete", "clerk-wang")]

"""Notify's API in-process on a real database: templates, rules, recipients, webhooks,
roster, preferences, inbox and the delivery log — bad input answered 4xx with the reason."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from services.notify.app import create_app
from shared import clock
from shared.contracts import ContactOverdue, VisitLogged
from shared.crypto import FieldCipher
from tests.notify.conftest import notify_settings
from tests.notify.support import COUNTY, J, TOWNSHIP, child, enrol, envelope, handle
from tests.support.auth import OTHER_COUNTY, bearer, staff

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock

ADMIN = bearer(roles=["admin"], jurisdiction=COUNTY)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(notify_db) -> AsyncIterator[httpx.AsyncClient]:
    # No registry listens on the discard port: the inbox opens without children's names
    # (tests/notify/test_child_names.py has the registry answer).
    app = create_app(notify_settings(notify_db, registry_base_url="http://127.0.0.1:9"),
                     cipher=FieldCipher.development())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def test_template_with_unknown_variable_is_422_naming_it(api) -> None:
    response = await api.put("/v1/templates/duty_due_soon/zh-CN/sms", headers=ADMIN,
                             json={"body": "您好${child_name}，${duty}将于${due_on}到期"})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "body.body" and "child_name" in error["reason"]
    stigma = await api.put("/v1/templates/pairing_created_guardian/zh-CN/sms", headers=ADMIN,
                           json={"body": "留守儿童结对：${started_on}"})
    assert stigma.status_code == 422
    assert (await api.put("/v1/templates/nope/zh-CN/sms", headers=ADMIN, json={"body": "x"})).status_code == 422
    assert (await api.put("/v1/templates/duty_due_soon/zh-CN/fax", headers=ADMIN, json={"body": "x"})).status_code == 422
    assert (await api.put("/v1/templates/duty_due_soon/zh-CN/sms", headers=staff(),
                          json={"body": "x"})).status_code == 403


async def test_template_save_with_versions_and_zh_cn_preview(api) -> None:
    saved = await api.put("/v1/templates/duty_due_soon/zh-CN/sms", headers=ADMIN,
                          json={"body": "【守护】${duty}请于${due_on}前完成"})
    assert saved.status_code == 200 and saved.headers["ETag"] == '"1"'
    stale = await api.put("/v1/templates/duty_due_soon/zh-CN/sms", headers={**ADMIN, "If-Match": '"7"'},
                          json={"body": "${duty}"})
    assert stale.status_code == 412
    # Replacing a stored template needs the version it was read at: without If-Match, 428.
    blind = await api.put("/v1/templates/duty_due_soon/zh-CN/sms", headers=ADMIN, json={"body": "${duty}"})
    assert blind.status_code == 428 and blind.json()["errors"][0]["field"] == "header.If-Match"
    again = await api.put("/v1/templates/duty_due_soon/zh-CN/sms", headers={**ADMIN, "If-Match": '"1"'},
                          json={"body": "【守护】${duty}请于${due_on}前完成"})
    assert again.status_code == 200 and again.headers["ETag"] == '"2"'
    preview = await api.post("/v1/templates/preview", headers=staff(),
                             json={"template_key": "duty_due_soon", "channel": "sms"})
    assert preview.json()["text"] == "【守护】家访请于12月1日前完成"
    stored_default = await api.post("/v1/templates/preview", headers=staff(), json={
        "template_key": "contact_overdue_staff", "variables": {"level": "county", "days_overdue": "12"}})
    assert stored_default.json()["text"].startswith("【县级督办】新铺镇坝山村（新铺镇中心小学）：李老师负责的王小明的家访")
    assert "12天" in stored_default.json()["text"]
    draft = await api.post("/v1/templates/preview", headers=staff(), json={
        "template_key": "concern_raised", "locale": "en", "body": "Severity ${severity}${mandatory}"})
    assert draft.json()["text"] == "Severity urgent (mandatory-report procedure applies)"
    bad = await api.post("/v1/templates/preview", headers=staff(),
                         json={"template_key": "concern_raised", "variables": {"name": "x"}})
    assert bad.status_code == 422 and "name" in bad.json()["errors"][0]["reason"]


async def test_routing_rules_per_county(api) -> None:
    unknown = await api.put(f"/v1/routing-rules/{COUNTY}/DutyDueSoon/caregiver", headers=ADMIN,
                            json={"template": "duty_due_soon", "channels": ["fax"]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"].startswith("body.channels")
    off = await api.put(f"/v1/routing-rules/{COUNTY}/ConcernRaised/on_duty", headers=ADMIN,
                        json={"template": "concern_raised", "channels": ["in_app"], "enabled": False})
    assert off.status_code == 422
    other = await api.put(f"/v1/routing-rules/{OTHER_COUNTY}/DutyDueSoon/caregiver", headers=staff(),
                          json={"template": "duty_due_soon", "channels": ["in_app"]})
    assert other.status_code == 404
    ok = await api.put(f"/v1/routing-rules/{COUNTY}/DutyDueSoon/caregiver", headers=staff(),
                       json={"template": "duty_due_soon", "channels": ["in_app", "wecom"]})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"1"'
    unconditional = await api.put(f"/v1/routing-rules/{COUNTY}/DutyDueSoon/caregiver", headers=staff(),
                                  json={"template": "duty_due_soon", "channels": ["in_app"]})
    assert unconditional.status_code == 428
    rules = (await api.get("/v1/routing-rules", params={"county_code": COUNTY}, headers=staff())).json()["items"]
    due = next(r for r in rules if r["event_type"] == "DutyDueSoon")
    assert due["county_code"] == COUNTY and due["channels"] == ["in_app", "wecom"]
    assert any(r["county_code"] == "" for r in rules)


async def test_staff_recipients_validate_addresses_and_encrypt_them(api) -> None:
    base = {"staff_id": "twp-zhang", "jurisdiction": TOWNSHIP, "level": "township"}
    landline = await api.post("/v1/staff-recipients", headers=ADMIN, json={**base, "contacts": {"sms": "010-62345678"}})
    assert landline.status_code == 422 and landline.json()["errors"][0]["field"] == "body.contacts.sms"
    assert "62345678" not in landline.text
    plain_http = await api.post("/v1/staff-recipients", headers=ADMIN, json={
        **base, "contacts": {"dingtalk": {"url": "http://oapi.dingtalk.com/robot/send?access_token=x"}}})
    assert plain_http.status_code == 422 and "https" in plain_http.json()["errors"][0]["reason"]
    extra = await api.post("/v1/staff-recipients", headers=ADMIN, json={**base, "phone": "x"})
    assert extra.status_code == 422
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {**base, "contacts": {"sms": "13800138000", "email": "zhang@twp.example.cn"}}
    created = await api.post("/v1/staff-recipients", headers={**ADMIN, **key}, json=body)
    again = await api.post("/v1/staff-recipients", headers={**ADMIN, **key}, json=body)
    assert created.status_code == again.status_code == 201 and created.json()["id"] == again.json()["id"]
    assert created.json()["channels"] == ["email", "sms"] and "contacts" not in created.json()
    rid = created.json()["id"]
    async with api.app.state.pool.acquire() as conn:  # type: ignore[attr-defined]
        stored = await conn.fetchval("SELECT contacts_enc FROM staff_recipients WHERE id = $1", uuid.UUID(rid))
    assert "13800138000" not in stored
    sensitive = bearer(roles=["admin"], jurisdiction=COUNTY, permissions=["view_sensitive"])
    assert "contacts" not in (await api.get(f"/v1/staff-recipients/{rid}", headers=sensitive)).json()  # no purpose
    shown = await api.get(f"/v1/staff-recipients/{rid}", headers={**sensitive, "X-Purpose": "roster check"})
    assert shown.json()["contacts"]["sms"] == "+8613800138000"
    async with api.app.state.pool.acquire() as conn:  # type: ignore[attr-defined]
        audited = await conn.fetch("SELECT fields, purpose FROM read_audit WHERE $1 = ANY(record_ids)", uuid.UUID(rid))
    assert [(row["fields"], row["purpose"]) for row in audited] == [(["contacts"], "roster check")]
    assert "contacts" not in (await api.get(f"/v1/staff-recipients/{rid}", headers=ADMIN)).json()
    assert (await api.get(f"/v1/staff-recipients/{rid}", headers=staff(OTHER_COUNTY))).status_code == 404
    assert (await api.patch(f"/v1/staff-recipients/{rid}", headers=ADMIN, json={"active": False})).status_code == 428
    stale = await api.patch(f"/v1/staff-recipients/{rid}", headers={**ADMIN, "If-Match": '"9"'}, json={"active": False})
    assert stale.status_code == 412
    patched = await api.patch(f"/v1/staff-recipients/{rid}", headers={**ADMIN, "If-Match": '"1"'},
                              json={"contacts": {"sms": "13900139000"}})
    assert patched.status_code == 200 and patched.json()["channels"] == ["sms"] and patched.json()["version"] == 2

    village_shift = await api.post("/v1/duty-roster", headers=ADMIN, json={
        "staff_recipient_id": rid, "jurisdiction": "330102001001", "starts_at": "2026-12-01T00:00:00+08:00",
        "ends_at": "2026-12-02T00:00:00+08:00"})
    assert village_shift.status_code == 422
    backwards = await api.post("/v1/duty-roster", headers=ADMIN, json={
        "staff_recipient_id": rid, "jurisdiction": TOWNSHIP, "starts_at": "2026-12-02T00:00:00+08:00",
        "ends_at": "2026-12-01T00:00:00+08:00"})
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "body.ends_at"
    now = clock.from_env().now()
    shift = await api.post("/v1/duty-roster", headers=ADMIN, json={
        "staff_recipient_id": rid, "jurisdiction": TOWNSHIP, "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=8)).isoformat()})
    assert shift.status_code == 201
    on_duty = await api.get("/v1/duty-roster", params={"at": now.isoformat()}, headers=ADMIN)
    assert [s["staff_id"] for s in on_duty.json()["items"]] == ["twp-zhang"]


async def test_webhook_subscriptions_need_https_and_known_events(api) -> None:
    base = {"county_code": COUNTY, "secret": "0123456789abcdef", "event_types": ["ConcernRaised"]}
    insecure = await api.post("/v1/webhook-subscriptions", headers=ADMIN, json={**base, "url": "http://gov.example.cn/in"})
    assert insecure.status_code == 422 and insecure.json()["errors"][0]["field"] == "body.url"
    unknown = await api.post("/v1/webhook-subscriptions", headers=ADMIN,
                             json={**base, "url": "https://gov.example.cn/in", "event_types": ["Nope"]})
    assert unknown.status_code == 422
    created = await api.post("/v1/webhook-subscriptions", headers=ADMIN, json={**base, "url": "https://gov.example.cn/in"})
    assert created.status_code == 201 and "url" not in created.json() and "secret" not in created.json()
    assert len((await api.get("/v1/webhook-subscriptions", headers=ADMIN)).json()["items"]) == 1
    elsewhere = bearer(roles=["admin"], jurisdiction=OTHER_COUNTY)
    assert (await api.get("/v1/webhook-subscriptions", headers=elsewhere)).json()["items"] == []


async def test_inbox_preferences_and_the_scoped_delivery_log(api, notify_db) -> None:
    settings = notify_settings(notify_db)
    pool = api.app.state.pool  # type: ignore[attr-defined]
    kid = child()
    await handle(pool, settings, envelope(kid))
    caregiver = str(uuid.uuid4())
    await enrol(pool, settings, uuid.UUID(caregiver))
    visit = envelope(VisitLogged(child_id=kid.child_id, contact_id=uuid.uuid4(), caregiver_id=uuid.UUID(caregiver),
                                 kind="parent_call", occurred_at=clock.from_env().now(), jurisdiction=J))
    await handle(pool, settings, visit)
    own = bearer(roles=["caregiver"], jurisdiction=TOWNSHIP, caregiver_id=caregiver)
    [notice] = (await api.get("/v1/notifications", headers=own)).json()["items"]
    assert notice["text"] == "您与结对儿童的亲情电话记录已保存，谢谢您的付出。" and notice["title"] == "记录已保存"
    assert notice["named"] is False
    english = (await api.get("/v1/notifications", params={"locale": "en"}, headers=own)).json()["items"]
    assert english[0]["text"].startswith("Your call with the parents")
    someone_else = bearer(roles=["caregiver"], jurisdiction=TOWNSHIP, caregiver_id=str(uuid.uuid4()))
    assert (await api.get("/v1/notifications", params={"caregiver_id": caregiver},
                          headers=someone_else)).status_code == 404
    assert (await api.post(f"/v1/notifications/{notice['id']}/read", headers=own)).status_code == 204
    assert (await api.get("/v1/notifications", params={"unread": True}, headers=own)).json()["items"] == []

    half = await api.put("/v1/preferences/me", headers=own, json={"quiet_start": "21:00"})
    assert half.status_code == 422
    first = await api.put("/v1/preferences/me", headers=own, json={"channels": ["email"], "opt_out_non_urgent": True})
    assert first.status_code == 200 and first.json()["version"] == 1
    stale = await api.put("/v1/preferences/me", headers={**own, "If-Match": '"5"'}, json={})
    assert stale.status_code == 412
    assert (await api.put("/v1/preferences/me", headers=own, json={})).status_code == 428
    assert (await api.get("/v1/preferences/me", headers=own)).json()["opt_out_non_urgent"] is True
    bad_zone = await api.put(f"/v1/preferences/guardians/{kid.child_id}", headers=staff(), json={"timezone": "Mars/Base"})
    assert bad_zone.status_code == 422
    guardian = await api.put(f"/v1/preferences/guardians/{kid.child_id}", headers=staff(),
                             json={"quiet_start": "20:00", "quiet_end": "08:00"})
    assert guardian.status_code == 200
    assert (await api.put(f"/v1/preferences/guardians/{kid.child_id}", headers=staff(OTHER_COUNTY),
                          json={})).status_code == 404

    overdue = envelope(ContactOverdue(child_id=kid.child_id, duty_id=uuid.uuid4(), caregiver_id=uuid.UUID(caregiver),
                                      duty_kind="letter", due_on=date(2026, 11, 1), days_overdue=3, jurisdiction=J))
    await handle(pool, settings, overdue)
    log = (await api.get("/v1/deliveries", params={"child_id": str(kid.child_id)}, headers=staff())).json()["items"]
    assert {entry["event_type"] for entry in log} == {"VisitLogged", "ContactOverdue"}
    assert all("address" not in entry and "text" not in entry and "variables" not in entry for entry in log)
    paged, cursor = [], None
    for _ in range(len(log) + 1):  # one item a page: the cursor walks the whole log once
        page = (await api.get("/v1/deliveries", params={"child_id": str(kid.child_id), "limit": 1,
                                                         **({"cursor": cursor} if cursor else {})},
                              headers=staff())).json()
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [entry["id"] for entry in paged] == [entry["id"] for entry in log] and len(log) >= 2
    sent_only = await api.get("/v1/deliveries", params={"child_id": str(kid.child_id), "status": "sent"},
                              headers=staff())
    assert {entry["status"] for entry in sent_only.json()["items"]} == {"sent"}
    assert (await api.get("/v1/deliveries", params={"child_id": str(kid.child_id)},
                          headers=staff(OTHER_COUNTY))).json()["items"] == []
    assert (await api.get("/v1/deliveries", params={"status": "lost"}, headers=staff())).status_code == 422
    assert (await api.get("/v1/deliveries", headers=own)).status_code == 403
    summary = (await api.get("/v1/deliveries/summary", headers=staff())).json()["items"]
    assert {"channel": "in_app", "status": "sent"}.items() <= next(s for s in summary if s["channel"] == "in_app").items()
    assert (await api.get("/v1/deliveries/summary", headers=staff(OTHER_COUNTY))).json()["items"] == []
    one = log[0]["id"]
    assert (await api.get(f"/v1/deliveries/{one}", headers=staff(OTHER_COUNTY))).status_code == 404
    assert (await api.post(f"/v1/deliveries/{one}/retry", headers=ADMIN)).status_code == 404  # not dead


async def test_the_delivery_log_by_school_and_caregiver_and_a_school_sees_its_own(api, notify_db) -> None:
    settings = notify_settings(notify_db)
    pool = api.app.state.pool  # type: ignore[attr-defined]
    ours, theirs = child(school_id="school-a"), child(school_id="school-b")
    teacher_a, teacher_b = uuid.uuid4(), uuid.uuid4()
    for kid, teacher in ((ours, teacher_a), (theirs, teacher_b)):
        await handle(pool, settings, envelope(kid))
        await enrol(pool, settings, teacher)
        await handle(pool, settings, envelope(VisitLogged(
            child_id=kid.child_id, contact_id=uuid.uuid4(), caregiver_id=teacher, kind="talk",
            occurred_at=clock.from_env().now(), jurisdiction=J)))

    def children_in(answer: httpx.Response) -> set[str]:
        assert answer.status_code == 200, answer.text
        return {entry["child_id"] for entry in answer.json()["items"]}

    both = {str(ours.child_id), str(theirs.child_id)}
    assert children_in(await api.get("/v1/deliveries", headers=staff())) >= both
    by_school = await api.get("/v1/deliveries", params={"school_id": "school-a"}, headers=staff())
    assert children_in(by_school) == {str(ours.child_id)}
    assert {entry["school_id"] for entry in by_school.json()["items"]} == {"school-a"}
    by_caregiver = await api.get("/v1/deliveries", params={"caregiver_id": str(teacher_b)}, headers=staff())
    assert children_in(by_caregiver) == {str(theirs.child_id)}

    # A school's staff: their school only; another school's record is not there, its filter refused.
    head = bearer(roles=["school_staff"], jurisdiction=TOWNSHIP, school_id="school-a", subject="head-a")
    assert children_in(await api.get("/v1/deliveries", headers=head)) == {str(ours.child_id)}
    refused = await api.get("/v1/deliveries", params={"school_id": "school-b"}, headers=head)
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "query.school_id"
    [other] = (await api.get("/v1/deliveries", params={"school_id": "school-b"}, headers=staff())).json()["items"]
    assert (await api.get(f"/v1/deliveries/{other['id']}", headers=head)).status_code == 404
    assert (await api.get(f"/v1/deliveries/{other['id']}", headers=staff())).status_code == 200
    counted = (await api.get("/v1/deliveries/summary", headers=head)).json()["items"]
    assert sum(row["count"] for row in counted) == len((await api.get("/v1/deliveries", headers=head)).json()["items"])
    # Nor does a caregiver's inbox show them another school's messages.
    inbox = await api.get("/v1/notifications", params={"caregiver_id": str(teacher_b)}, headers=head)
    assert inbox.status_code == 200 and inbox.json()["items"] == []
    assert len((await api.get("/v1/notifications", params={"caregiver_id": str(teacher_b)},
                              headers=staff())).json()["items"]) == 1

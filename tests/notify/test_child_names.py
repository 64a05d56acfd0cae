"""Names in reminders and notices, composed at send (and read) time from the real registry
app on its own database, asked with notify's service token: never stored in notify, never
in an event; when the registry cannot answer, the message waits and is sent later with the
name, never without it."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest_asyncio
import structlog

from services.notify.app import create_app
from services.notify.channels.factory import build_adapters
from services.notify.contacts import HttpContactSource
from services.notify.delivery import DeliveryLoop
from services.notify.entry import ENTRY
from shared.contracts import CaregiverEnrolled, ContactOverdue, VisitLogged
from shared.crypto import FieldCipher
from shared.service_auth import ServiceTokenProvider
from shared.settings import AuthSettings
from tests.notify.conftest import notify_settings
from tests.notify.fakes import serving
from tests.notify.support import J, child, consume, enrol, envelope, handle, rows
from tests.notify.test_delivery import NOON, Clock, Providers, make_settings
from tests.registry.helpers import child_body, running_registry, staff_headers
from tests.support.auth import TOWNSHIP, bearer

REGISTRY = "http://registry.test"
NOWHERE = "http://127.0.0.1:9"  # the discard port: no registry answers there


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def registry(infra) -> AsyncIterator:
    async with running_registry(infra) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def providers() -> AsyncIterator[Providers]:
    fake = Providers()  # stands in for the SMS gateway and pairing's contact points only
    async with serving(fake.http):
        yield fake


@pytest_asyncio.fixture(loop_scope="session")
async def http(registry) -> AsyncIterator[httpx.AsyncClient]:
    """Requests to REGISTRY reach the real registry app; the rest go over the network."""
    async with httpx.AsyncClient(timeout=5, mounts={REGISTRY: httpx.ASGITransport(app=registry.app)}) as client:
        yield client


def contacts(http: httpx.AsyncClient, providers: Providers, registry_url: str = REGISTRY) -> HttpContactSource:
    return HttpContactSource(http, ServiceTokenProvider(AuthSettings(), service_name="notify"),
                             pairing_base_url=providers.http.base_url, registry_base_url=registry_url)


def loop(settings, pool, http, providers, registry_url: str = REGISTRY) -> DeliveryLoop:  # type: ignore[no-untyped-def]
    # The loop reads "now" from the settings' clock, which test_delivery's Clock moves.
    return DeliveryLoop(settings, pool, adapters=build_adapters(settings, http),
                        contacts=contacts(http, providers, registry_url), cipher=FieldCipher.development())


async def _registered(registry, pool, settings, name: str = "李思雨") -> uuid.UUID:  # type: ignore[no-untyped-def]
    created = await registry.client.post("/v1/children", json=child_body(name=name, gender="female"),
                                         headers=staff_headers())
    assert created.status_code == 201, created.text
    child_id = uuid.UUID(created.json()["id"])
    await handle(pool, settings, envelope(child(child_id)))  # notify's projection, as ChildRegistered gives it
    return child_id


async def _overdue(pool, settings, child_id: uuid.UUID) -> uuid.UUID:  # type: ignore[no-untyped-def]
    caregiver = uuid.uuid4()
    await handle(pool, settings, envelope(CaregiverEnrolled(caregiver_id=caregiver, kind="teacher", jurisdiction=J,
                                                            capacity=3, channels=("sms",), record_version=1)))
    event_id = uuid.uuid4()
    await consume(pool, settings, ContactOverdue(child_id=child_id, duty_id=uuid.uuid4(), caregiver_id=caregiver,
                                                 duty_kind="home_visit", due_on=date(2026, 12, 1), days_overdue=3,
                                                 jurisdiction=J), event_id=event_id)
    return event_id


async def test_a_reminder_names_the_child_from_the_registry_at_send_time(registry, pool, notify_db, providers,
                                                                         http) -> None:
    settings = make_settings(notify_db, providers)
    child_id = await _registered(registry, pool, settings)
    event_id = await _overdue(pool, settings, child_id)
    [row] = await rows(pool, "SELECT * FROM notifications WHERE source_event_id = $1 AND channel = 'sms'", event_id)
    assert "李思雨" not in json.dumps(dict(row["variables"]), ensure_ascii=False)

    with structlog.testing.capture_logs() as logs:
        Clock(settings, NOON)
        await loop(settings, pool, http, providers).run_once()
    [sms] = [r.json() for r in providers.sms if r.headers["idempotency-key"] == str(row["id"])]
    assert sms["text"] == "李思雨的家访还未记录，12月1日已到期（逾期3天），请尽快完成并记录。"
    [stored] = await rows(pool, "SELECT status, variables FROM notifications WHERE id = $1", row["id"])
    assert stored["status"] == "sent" and "李思雨" not in json.dumps(dict(stored["variables"]), ensure_ascii=False)
    sent = await rows(pool, "SELECT payload::text AS payload FROM outbox WHERE payload->>'notification_id' = $1",
                      str(row["id"]))
    assert len(sent) == 1 and "李思雨" not in sent[0]["payload"]
    assert "李思雨" not in json.dumps(logs, ensure_ascii=False, default=str)
    audited = await registry.fetch("SELECT subject, purpose FROM read_audit WHERE action = 'child_names' "
                                   "AND $1 = ANY(record_ids)", child_id)
    assert [(r["subject"], r["purpose"]) for r in audited] == [("service:notify", "notification delivery")]


async def test_without_the_registry_the_reminder_waits_and_then_names_the_child(registry, pool, notify_db,
                                                                               providers, http) -> None:
    settings = make_settings(notify_db, providers)
    child_id = await _registered(registry, pool, settings, name="赵一诺")
    event_id = await _overdue(pool, settings, child_id)
    [row] = await rows(pool, "SELECT id FROM notifications WHERE source_event_id = $1 AND channel = 'sms'", event_id)

    clock = Clock(settings, NOON)
    await loop(settings, pool, http, providers, registry_url=NOWHERE).run_once()
    [waiting] = await rows(pool, "SELECT status, attempts, last_error FROM notifications WHERE id = $1", row["id"])
    assert (waiting["status"], waiting["attempts"], waiting["last_error"]) == ("pending", 1, "provider_error")
    assert not [r for r in providers.sms if r.headers["idempotency-key"] == str(row["id"])]

    clock.at = NOON + timedelta(minutes=5)  # past the backoff
    await loop(settings, pool, http, providers).run_once()
    [sms] = [r.json() for r in providers.sms if r.headers["idempotency-key"] == str(row["id"])]
    assert sms["text"].startswith("赵一诺的家访还未记录")
    [done] = await rows(pool, "SELECT status, attempts FROM notifications WHERE id = $1", row["id"])
    assert (done["status"], done["attempts"]) == ("sent", 2)


async def test_the_inbox_names_the_child_when_read(registry, notify_db, providers, http) -> None:
    app = create_app(notify_settings(notify_db), cipher=FieldCipher.development(),
                     contacts=contacts(http, providers))
    async with app.router.lifespan_context(app):
        settings = notify_settings(notify_db)
        pool = app.state.pool
        child_id = await _registered(registry, pool, settings, name="钱多多")
        caregiver = uuid.uuid4()
        await enrol(pool, settings, caregiver)
        await handle(pool, settings, envelope(VisitLogged(
            child_id=child_id, contact_id=uuid.uuid4(), caregiver_id=caregiver, kind="home_visit",
            occurred_at=datetime.now(timezone.utc), jurisdiction=J)))
        own = bearer(roles=["caregiver"], jurisdiction=TOWNSHIP, caregiver_id=str(caregiver))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
            [notice] = (await api.get("/v1/notifications", headers=own)).json()["items"]
            english = (await api.get("/v1/notifications", params={"locale": "en"}, headers=own)).json()["items"]
    assert notice["text"] == "您与钱多多的家访记录已保存，谢谢您的付出。" and notice["named"] is True
    assert english[0]["text"] == "Your home visit for 钱多多 has been recorded. Thank you."


async def test_templates_still_at_the_previous_default_are_moved_to_the_named_one(pool) -> None:
    migration = (Path(ENTRY.migrations_dir) / "0004_templates_name_the_child.sql").read_text("utf-8")
    previous, edited = "您的${kind}记录已保存，谢谢您的付出。", "【守护】${kind}已记录"
    async with pool.acquire() as conn:
        await conn.execute("UPDATE templates SET body = $1 WHERE template_key = 'contact_logged' AND locale = 'zh-CN'",
                           previous)
        await conn.execute("UPDATE templates SET body = $1 WHERE template_key = 'contact_logged' AND locale = 'en'",
                           edited)
        await conn.execute(migration)
        bodies = dict(await conn.fetch(
            "SELECT locale, body FROM templates WHERE template_key = 'contact_logged' AND channel = 'default'"))
    assert bodies == {"zh-CN": "您与${child}的${kind}记录已保存，谢谢您的付出。", "en": edited}

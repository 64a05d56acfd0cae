"""The delivery loop against real local providers: once per (event, recipient, channel),
retries then a dead letter, quiet hours, rate limits across replicas, crash mid-send."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import structlog
from prometheus_client.parser import text_string_to_metric_families

from shared.conditional import no_precondition
from services.notify import store_admin, store_family
from services.notify.channels.factory import build_adapters
from services.notify.contacts import HttpContactSource
from services.notify.delivery import DeliveryLoop
from shared.auth import TokenVerifier
from shared.contracts import CaregiverEnrolled, ConcernRaised, ContactOverdue, DutyDueSoon, PairingCreated
from shared.crypto import FieldCipher
from shared.service_auth import ServiceTokenProvider
from services.notify.config import NotifySettings
from shared.settings import AuthSettings
from shared.worker_metrics import WorkerMetrics
from tests.notify.conftest import notify_settings
from tests.notify.fakes import FakeHttp, Recorded, SmtpSink, serving
from tests.notify.support import J, child, consume, enrol, envelope, handle, rows

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock

PHONE = "+8613900139000"
MOTHER_PHONE = "+8613700137000"
GRANDPARENT = uuid.UUID("6f1a4c1e-0000-4000-8000-000000000001")   # the registry's entry ids
MOTHER = uuid.UUID("6f1a4c1e-0000-4000-8000-000000000002")
# The loops' clock runs a little ahead of the database's now(), whatever today is: rows
# written now are due by then.
_DAY = datetime.now(timezone.utc).date() + timedelta(days=2)
NOON = datetime.combine(_DAY, time(4, 0), tzinfo=timezone.utc)     # 12:00 in Asia/Shanghai
NIGHT = datetime.combine(_DAY, time(14, 0), tzinfo=timezone.utc)   # 22:00 in Asia/Shanghai


class Clock:
    """Moves the settings' clock (shared/clock.py), which the handlers and the loop both read."""

    def __init__(self, settings: NotifySettings, at: datetime) -> None:
        self._settings = settings
        self.at = at

    @property
    def at(self) -> datetime:
        return self._settings.clock.now()

    @at.setter
    def at(self, value: datetime) -> None:
        self._settings.clock_now = value


class Providers:
    """One real HTTP server answering as SMS gateway, robots, webhooks, pairing and registry."""

    def __init__(self) -> None:
        self.sms_status = 200
        self.contacts = {"sms": PHONE}
        self.child_name = "李思雨"
        self.caregiver_name = "王老师"
        self.child_place = {"township_code": J.township_code, "township_name": "清波街道",
                            "village_code": J.village_code, "village_name": "清波门社区",
                            "school_id": "school-1", "school_name": "清波小学"}
        self.http = FakeHttp(self.answer)

    def answer(self, request: Recorded) -> tuple[int, object]:
        if request.path == "/sms":
            return self.sms_status, {"id": f"p-{len(self.http.to('/sms'))}"}
        if request.path.endswith("/contact-points"):  # pairing's answer, as pairing builds it
            return 200, {"caregiver_id": request.path.split("/")[3], "active": True, "channels": ["sms", "in_app"],
                         "phone": self.contacts.get("sms"), "email": None, "wecom_id": None, "dingtalk_id": None}
        if request.path == "/v1/children/names":  # the registry's answer, as the registry builds it
            ids = request.json()["ids"]
            return 200, {"names": {child_id: self.child_name for child_id in ids},
                         "places": {child_id: self.child_place for child_id in ids}}
        if request.path == "/v1/caregivers/names":  # pairing's answer, as pairing builds it
            return 200, {"names": {caregiver_id: self.caregiver_name for caregiver_id in request.json()["ids"]}}
        if request.path.endswith("/guardian-contacts"):
            return 200, {"guardians": [{"id": "g-0", "relation": "grandparent", "phone": None},
                                       {"id": str(GRANDPARENT), "relation": "relative",
                                        "phone": self.contacts.get("sms")}],
                         "parents": [{"id": str(MOTHER), "relation": "mother", "phone": MOTHER_PHONE}]}
        if request.path.startswith("/robot"):
            return 200, {"errcode": 0, "errmsg": "ok"}
        return 200, {}

    @property
    def sms(self) -> list[Recorded]:
        return self.http.to("/sms")


@pytest_asyncio.fixture(loop_scope="session")
async def providers() -> AsyncIterator[Providers]:
    fake = Providers()
    async with serving(fake.http):
        yield fake


@pytest.fixture
def smtp() -> SmtpSink:
    with SmtpSink() as sink:
        yield sink


def make_settings(notify_db: str, providers: Providers, smtp: SmtpSink | None = None, **overrides: object):  # type: ignore[no-untyped-def]
    return notify_settings(notify_db, sms_http_url=f"{providers.http.base_url}/sms",
                           pairing_base_url=providers.http.base_url, registry_base_url=providers.http.base_url,
                           smtp_host="127.0.0.1" if smtp else None, smtp_port=smtp.port if smtp else 25,
                           smtp_starttls=False, **{"clock_now": NOON, **overrides})


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def make_loop(settings, pool, http, clock, metrics=None) -> DeliveryLoop:  # type: ignore[no-untyped-def]
    contacts = HttpContactSource(http, ServiceTokenProvider(AuthSettings(), service_name="notify"),
                                 pairing_base_url=settings.pairing_base_url,
                                 registry_base_url=settings.registry_base_url)
    return DeliveryLoop(settings, pool, adapters=build_adapters(settings, http), contacts=contacts,
                        cipher=FieldCipher.development(), metrics=metrics)


async def _caregiver_with_due_duty(pool, settings) -> tuple[uuid.UUID, uuid.UUID, DutyDueSoon]:  # type: ignore[no-untyped-def]
    kid = child()
    caregiver = uuid.uuid4()
    await handle(pool, settings, envelope(kid))
    await handle(pool, settings, envelope(CaregiverEnrolled(caregiver_id=caregiver, kind="teacher", jurisdiction=J,
                                                            capacity=3, channels=("sms",), record_version=1)))
    due = DutyDueSoon(child_id=kid.child_id, duty_id=uuid.uuid4(), caregiver_id=caregiver, duty_kind="home_visit",
                      due_on=date(2026, 12, 1), jurisdiction=J)
    return kid.child_id, caregiver, due


async def _sms_row(pool, event_id):  # type: ignore[no-untyped-def]
    [row] = await rows(pool, "SELECT * FROM notifications WHERE source_event_id = $1 AND channel = 'sms'", event_id)
    return row


async def test_one_sms_however_often_the_event_is_delivered_and_loops_run(pool, notify_db, providers, http) -> None:
    settings = make_settings(notify_db, providers)
    _, caregiver, due = await _caregiver_with_due_duty(pool, settings)
    event_id = uuid.uuid4()
    await consume(pool, settings, due, event_id=event_id, times=3)
    await handle(pool, settings, envelope(due, event_id))  # even past the inbox
    clock = Clock(settings, NOON)
    before = len(providers.sms)
    with structlog.testing.capture_logs() as logs:
        await asyncio.gather(make_loop(settings, pool, http, clock).run_once(),
                             make_loop(settings, pool, http, clock).run_once())
        await make_loop(settings, pool, http, clock).run_once()
    row = await _sms_row(pool, event_id)
    mine = [r for r in providers.sms[before:] if r.headers["idempotency-key"] == str(row["id"])]
    assert len(mine) == 1 and row["status"] == "sent" and row["attempts"] == 1
    sms = mine[0].json()
    assert sms["to"] == PHONE and sms["message_id"] == str(row["id"])
    assert sms["text"] == "温馨提醒：李思雨的家访将于12月1日到期，请按时完成并记录。"
    # the address was fetched from pairing with notify's own service token
    lookups = providers.http.to(f"/v1/caregivers/{caregiver}/contact-points")
    principal = await TokenVerifier(AuthSettings()).verify(lookups[-1].headers["authorization"].split()[1])
    assert principal.roles == frozenset({"service"})
    # NotificationSent once, and neither it nor any log line carries the number or the text
    sent = await rows(pool, "SELECT payload FROM outbox WHERE payload->>'notification_id' = $1", str(row["id"]))
    assert len(sent) == 1 and sent[0]["payload"]["channel"] == "sms"
    dumped = json.dumps([sent[0]["payload"], logs], default=str)
    assert "13900139000" not in dumped and "家访" not in dumped and "温馨" not in dumped


async def test_provider_500s_are_retried_with_backoff_then_dead_lettered(pool, notify_db, providers, http) -> None:
    settings = make_settings(notify_db, providers, delivery_max_attempts=3)
    _, _, due = await _caregiver_with_due_duty(pool, settings)
    event_id = uuid.uuid4()
    await handle(pool, settings, envelope(due, event_id))
    clock = Clock(settings, NOON)
    metrics = WorkerMetrics("notify")
    loop = make_loop(settings, pool, http, clock, metrics)
    providers.sms_status = 500
    try:
        await loop.run_once()
        row = await _sms_row(pool, event_id)
        assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, "provider_error")
        delay = (row["next_attempt_at"] - clock.at).total_seconds()
        assert 5 <= delay <= 10  # base 10 s, first attempt, with jitter
        await loop.run_once()  # not due yet: nothing sent
        assert (await _sms_row(pool, event_id))["attempts"] == 1
        for _ in range(2):
            clock.at += timedelta(hours=1)
            await loop.run_once()
    finally:
        providers.sms_status = 200
    row = await _sms_row(pool, event_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("dead", 3, "provider_error")
    [failed] = await rows(pool, "SELECT payload FROM outbox WHERE payload->>'notification_id' = $1", str(row["id"]))
    assert failed["payload"]["dead_lettered"] is True and failed["payload"]["reason"] == "provider_error"
    assert len([r for r in providers.sms if r.headers["idempotency-key"] == str(row["id"])]) == 3
    # the worker's /metrics counts each attempt by channel and outcome
    scraped = {(s.labels["channel"], s.labels["outcome"]): s.value
               for family in text_string_to_metric_families(metrics.exposition().decode())
               for s in family.samples if s.name == "shouhu_notify_deliveries_total"}
    assert scraped == {("sms", "retry"): 2, ("sms", "dead"): 1}


async def test_a_landline_from_pairing_fails_without_calling_the_provider(pool, notify_db, providers, http) -> None:
    settings = make_settings(notify_db, providers)
    _, _, due = await _caregiver_with_due_duty(pool, settings)
    event_id = uuid.uuid4()
    await handle(pool, settings, envelope(due, event_id))
    providers.contacts = {"sms": "010-62345678"}
    try:
        await make_loop(settings, pool, http, Clock(settings, NOON)).run_once()
    finally:
        providers.contacts = {"sms": PHONE}
    row = await _sms_row(pool, event_id)
    assert (row["status"], row["last_error"]) == ("failed", "invalid_address")
    assert not [r for r in providers.sms if r.headers["idempotency-key"] == str(row["id"])]


async def test_guardian_sms_waits_out_quiet_hours_and_is_not_dropped(pool, notify_db, providers, http) -> None:
    settings = make_settings(notify_db, providers)
    kid = child(jurisdiction=J.model_copy(update={"county_code": "330199000000", "township_code": "330199001000",
                                                  "village_code": None}))
    await handle(pool, settings, envelope(kid))
    async with pool.acquire() as conn:
        await store_admin.put_rule(conn, "330199000000", "PairingCreated", "guardian", "pairing_created_guardian",
                                   ["sms"], True, no_precondition)
    caregiver = uuid.uuid4()
    await enrol(pool, settings, caregiver)
    async with pool.acquire() as conn:  # the grandparent agreed to messages (the registry's entry g-1)
        await store_family.record_consent(conn, child_id=kid.child_id, member_id=GRANDPARENT, member_kind="guardian",
                                          opted_in=True, how="in_person", recorded_by="t", at=NOON)
    pairing = envelope(PairingCreated(child_id=kid.child_id, pairing_id=uuid.uuid4(), caregiver_id=caregiver,
                                      jurisdiction=kid.jurisdiction, started_on=date(2026, 12, 1)))
    await handle(pool, settings, pairing)
    clock = Clock(settings, NIGHT)
    loop = make_loop(settings, pool, http, clock)
    await loop.run_once()
    [row] = await rows(pool, "SELECT * FROM notifications WHERE source_event_id = $1 AND recipient_kind = 'guardian'",
                       pairing.id)
    row_id = row["id"]
    assert row["status"] == "pending" and row["attempts"] == 0
    morning = datetime.combine(_DAY, time(23, 30), tzinfo=timezone.utc)  # 07:30 next morning in Shanghai
    assert row["next_attempt_at"] == morning
    clock.at = morning + timedelta(minutes=1)
    await loop.run_once()
    [row] = await rows(pool, "SELECT status FROM notifications WHERE id = $1", row["id"])
    assert row["status"] == "sent"
    assert providers.http.to(f"/v1/children/{kid.child_id}/guardian-contacts")
    # The grandparent learns who will call: the teacher's name, asked of pairing at send time.
    [sms] = [r for r in providers.sms if r.headers["idempotency-key"] == str(row_id)]
    assert "安排了联系老师王老师" in sms.json()["text"] and "留守" not in sms.json()["text"]


async def test_urgent_concern_ignores_quiet_hours(pool, notify_db, providers, http) -> None:
    settings = make_settings(notify_db, providers, quiet_hours_staff="20:00-08:00")
    township = "330102004000"
    jurisdiction = J.model_copy(update={"township_code": township, "village_code": None})
    kid = child(jurisdiction=jurisdiction)
    await handle(pool, settings, envelope(kid))
    recipient_id = uuid.uuid4()
    async with pool.acquire() as conn:
        await store_admin.insert_staff(
            conn, recipient_id=recipient_id, staff_id=f"duty-{recipient_id.hex[:6]}", jurisdiction=township,
            level="township", school_id=None, channels=["sms"],
            contacts_enc=FieldCipher.development().encrypt(json.dumps({"sms": PHONE}),
                                                           context=f"staff_recipients.contacts:{recipient_id}"))
    concern = envelope(ConcernRaised(child_id=kid.child_id, concern_id=uuid.uuid4(), contact_id=uuid.uuid4(),
                                     severity="urgent", mandatory_report=False, raised_at=NIGHT,
                                     jurisdiction=jurisdiction))
    await handle(pool, settings, concern)
    await make_loop(settings, pool, http, Clock(settings, NIGHT)).run_once()
    row = await _sms_row(pool, concern.id)
    assert row["status"] == "sent"
    text = next(r for r in providers.sms if r.headers["idempotency-key"] == str(row["id"])).json()["text"]
    assert "紧急" in text and row["id"].hex[:8] not in text


async def test_robot_rate_limit_holds_across_replicas(pool, notify_db, providers, http) -> None:
    settings = make_settings(notify_db, providers, rate_dingtalk_per_minute=3.0)
    county = "330188000000"
    jurisdiction = J.model_copy(update={"county_code": county, "township_code": "330188001000", "village_code": None})
    kid = child(jurisdiction=jurisdiction)
    await handle(pool, settings, envelope(kid))
    cipher = FieldCipher.development()
    for n in range(5):
        rid = uuid.uuid4()
        contacts = {"dingtalk": {"url": f"{providers.http.base_url}/robot/{n}", "secret": "SECabc"}}
        async with pool.acquire() as conn:
            await store_admin.insert_staff(conn, recipient_id=rid, staff_id=f"county-{rid.hex[:8]}", jurisdiction=county,
                                           level="county", school_id=None, channels=["dingtalk"],
                                           contacts_enc=cipher.encrypt(json.dumps(contacts),
                                                                       context=f"staff_recipients.contacts:{rid}"))
    overdue = envelope(ContactOverdue(child_id=kid.child_id, duty_id=uuid.uuid4(), caregiver_id=uuid.uuid4(),
                                      duty_kind="letter", due_on=date(2026, 11, 1), days_overdue=20,
                                      escalation_level="county", jurisdiction=jurisdiction))
    await handle(pool, settings, overdue)
    clock = Clock(settings, NOON)

    def robot_calls() -> list[Recorded]:
        return [r for r in providers.http.requests if r.path.startswith("/robot/")]

    before = len(robot_calls())
    await asyncio.gather(*(make_loop(settings, pool, http, clock).run_once() for _ in range(3)))
    assert len(robot_calls()) - before == 3
    clock.at += timedelta(seconds=30)
    await make_loop(settings, pool, http, clock).run_once()
    assert len(robot_calls()) - before == 3  # still inside the minute
    clock.at += timedelta(seconds=31)
    await make_loop(settings, pool, http, clock).run_once()
    assert len(robot_calls()) - before == 5
    call = robot_calls()[-1]
    assert "timestamp=" in call.query and "sign=" in call.query
    assert call.json()["msgtype"] == "text" and "督办" in call.json()["text"]["content"]
    # Who is responsible, and for whom, by name: both asked now of their owners, never stored.
    # Where, by name too: the child's township, village and school, from the registry's registers.
    assert "清波街道清波门社区（清波小学）：王老师负责的李思雨的家书" in call.json()["text"]["content"]


async def test_a_crash_mid_send_is_retried_after_the_lease(pool, notify_db, providers, http) -> None:
    settings = make_settings(notify_db, providers, delivery_lease_s=60.0)
    _, _, due = await _caregiver_with_due_duty(pool, settings)
    event_id = uuid.uuid4()
    await handle(pool, settings, envelope(due, event_id))
    clock = Clock(settings, NOON)
    crashed = make_loop(settings, pool, http, clock)
    claimed = await crashed._claim(clock.at)  # claimed and committed, then the process "dies"
    assert any(r["source_event_id"] == event_id for r in claimed)
    clock.at += timedelta(seconds=30)
    await make_loop(settings, pool, http, clock).run_once()
    assert (await _sms_row(pool, event_id))["status"] == "sending"
    clock.at += timedelta(seconds=31)
    await make_loop(settings, pool, http, clock).run_once()
    row = await _sms_row(pool, event_id)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert len([r for r in providers.sms if r.headers["idempotency-key"] == str(row["id"])]) == 1


async def test_webhook_gets_a_signed_cloudevent(pool, notify_db, providers, http) -> None:
    settings = make_settings(notify_db, providers)
    county = "330177000000"
    jurisdiction = J.model_copy(update={"county_code": county, "township_code": "330177001000", "village_code": None})
    kid = child(jurisdiction=jurisdiction)
    await handle(pool, settings, envelope(kid))
    sid = uuid.uuid4()
    cipher = FieldCipher.development()
    async with pool.acquire() as conn:
        await store_admin.insert_webhook(
            conn, sid, county, cipher.encrypt(f"{providers.http.base_url}/hook", context=f"webhook_subscriptions.url:{sid}"),
            cipher.encrypt("a-shared-secret-16", context=f"webhook_subscriptions.secret:{sid}"), ["ConcernRaised"])
    concern = envelope(ConcernRaised(child_id=kid.child_id, concern_id=uuid.uuid4(), contact_id=uuid.uuid4(),
                                     severity="medium", mandatory_report=False, raised_at=NOON,
                                     jurisdiction=jurisdiction))
    await handle(pool, settings, concern)
    await make_loop(settings, pool, http, Clock(settings, NOON)).run_once()
    [call] = providers.http.to("/hook")
    [row] = await rows(pool, "SELECT id, status FROM notifications WHERE source_event_id = $1 AND channel = 'webhook'",
                       concern.id)
    assert row["status"] == "sent"
    assert call.headers["ce-id"] == str(row["id"]) and call.headers["ce-type"] == "cn.shouhu.ConcernRaised.v1"
    assert call.headers["ce-specversion"] == "1.0" and call.headers["ce-subject"] == str(kid.child_id)
    stamp, signature = (part.split("=", 1)[1] for part in call.headers["x-shouhu-signature"].split(","))
    assert signature == hmac.new(b"a-shared-secret-16", f"{stamp}.".encode() + call.body, hashlib.sha256).hexdigest()
    assert call.json()["concern_id"] == str(concern.data.concern_id)


async def test_email_to_staff_over_a_real_smtp_server(pool, notify_db, providers, http, smtp) -> None:
    settings = make_settings(notify_db, providers, smtp)
    county = "330166000000"
    jurisdiction = J.model_copy(update={"county_code": county, "township_code": "330166001000", "village_code": None})
    kid = child(jurisdiction=jurisdiction)
    await handle(pool, settings, envelope(kid))
    rid = uuid.uuid4()
    async with pool.acquire() as conn:
        await store_admin.insert_staff(
            conn, recipient_id=rid, staff_id=f"mail-{rid.hex[:6]}", jurisdiction=county, level="county",
            school_id=None, channels=["email"],
            contacts_enc=FieldCipher.development().encrypt(json.dumps({"email": "head@county.example.cn"}),
                                                           context=f"staff_recipients.contacts:{rid}"))
    overdue = envelope(ContactOverdue(child_id=kid.child_id, duty_id=uuid.uuid4(), caregiver_id=uuid.uuid4(),
                                      duty_kind="home_visit", due_on=date(2026, 11, 1), days_overdue=4,
                                      escalation_level="county", jurisdiction=jurisdiction))
    await handle(pool, settings, overdue)
    await make_loop(settings, pool, http, Clock(settings, NOON)).run_once()
    [message] = smtp.messages
    assert message.rcpt_tos == ["head@county.example.cn"]
    content = message.original_content.decode()
    assert "Message-ID: <" in content and "@shouhu.notify>" in content
    [row] = await rows(pool, "SELECT status FROM notifications WHERE source_event_id = $1 AND channel = 'email'",
                       overdue.id)
    assert row["status"] == "sent"


async def test_a_row_another_replica_holds_is_skipped_not_waited_for(pool, notify_db, providers, http) -> None:
    settings = make_settings(notify_db, providers)
    _, _, due = await _caregiver_with_due_duty(pool, settings)
    event_id = uuid.uuid4()
    await handle(pool, settings, envelope(due, event_id))
    row = await _sms_row(pool, event_id)
    async with pool.acquire() as other_replica:
        async with other_replica.transaction():
            await other_replica.execute("SELECT 1 FROM notifications WHERE id = $1 FOR UPDATE", row["id"])
            await asyncio.wait_for(make_loop(settings, pool, http, Clock(settings, NOON)).run_once(), 10)
            assert (await _sms_row(pool, event_id))["status"] == "pending"
    await make_loop(settings, pool, http, Clock(settings, NOON)).run_once()
    assert (await _sms_row(pool, event_id))["status"] == "sent"

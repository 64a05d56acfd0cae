"""The real notify worker process over real Kafka: an event published twice becomes one SMS at
a real local SMS gateway, with the address fetched from a (fake) pairing API and the child's
name from a (fake) registry API."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from shared.contracts import CaregiverEnrolled, DutyDueSoon
from tests.notify.fakes import FakeHttp, serving
from tests.notify.support import J, child
from tests.support.plumbing import produce
from tests.support.stack import start_service
from tests.support.processes import wait_ready
from tests.support.waiting import wait_for


def _answer(request):  # type: ignore[no-untyped-def]
    if request.path.endswith("/contact-points"):
        return 200, {"contact_points": [{"channel": "sms", "address": "13700137000"}]}
    if request.path == "/v1/children/names":
        return 200, {"names": {child_id: "李思雨" for child_id in request.json()["ids"]}}
    return 200, {"id": "gw-1"}


async def test_worker_sends_one_sms_for_an_event_published_twice(infra, topic_prefix, tmp_path) -> None:
    async with serving(FakeHttp(_answer)) as gateway:
        service = await start_service(infra, "notify", topic_prefix=topic_prefix, log_dir=tmp_path, extra_env={
            "SHOUHU_NOTIFY_SMS_HTTP_URL": f"{gateway.base_url}/sms",
            "SHOUHU_NOTIFY_PAIRING_BASE_URL": gateway.base_url,
            "SHOUHU_NOTIFY_REGISTRY_BASE_URL": gateway.base_url,
            "SHOUHU_NOTIFY_DELIVERY_POLL_INTERVAL_S": "0.2",
            "SHOUHU_NOTIFY_QUIET_HOURS_CAREGIVER": "",
        })
        try:
            await wait_ready(service)
            kid = child()
            caregiver = uuid.uuid4()
            due = DutyDueSoon(child_id=kid.child_id, duty_id=uuid.uuid4(), caregiver_id=caregiver,
                              duty_kind="letter", due_on=date(2026, 12, 20), jurisdiction=J)
            enrolled = CaregiverEnrolled(caregiver_id=caregiver, kind="volunteer", jurisdiction=J, capacity=2,
                                         channels=("sms",), record_version=1)
            await produce(infra.kafka_bootstrap, topic_prefix, [enrolled, kid])
            await produce(infra.kafka_bootstrap, topic_prefix, [due], times=2)

            async def sent_event() -> bool:
                conn = await asyncpg.connect(service.database_url)
                try:
                    return await conn.fetchval(
                        "SELECT count(*) FROM outbox WHERE event_type = 'cn.shouhu.NotificationSent.v1' "
                        "AND payload->>'channel' = 'sms'") == 1
                finally:
                    await conn.close()

            try:
                await wait_for(sent_event, timeout=60, what="NotificationSent for the SMS")
            except AssertionError as exc:
                conn = await asyncpg.connect(service.database_url)
                try:
                    state = {table: [dict(r) for r in await conn.fetch(query)] for table, query in (
                        ("notifications", "SELECT status, channel, attempts, next_attempt_at, last_error FROM notifications"),
                        ("dead_letters", "SELECT kind, reason, event_type, status FROM dead_letters"),
                        ("consumer_progress", "SELECT * FROM consumer_progress"),
                        ("inbox", "SELECT event_type FROM inbox"))}
                except Exception as db_error:  # the diagnosis must not hide the failure
                    state = {"error": repr(db_error)}
                finally:
                    await conn.close()
                raise AssertionError(f"{exc}\nnotify state: {state}\ngateway saw: {gateway.requests}\n"
                                     f"worker log:\n{service.worker.log_text()[-4000:]}") from None
            assert len(gateway.to("/sms")) == 1
            assert gateway.to("/sms")[0].json()["text"].startswith("温馨提醒：李思雨的家书将于12月20日到期")
            assert "13700137000" not in service.worker.log_text()
        finally:
            service.api.stop()
            service.worker.stop()

"""Families (issue #19, item 5): a caregiver's monthly note to a migrant mother, end to end on
a real database, the SMS double and the one clock — consent, the county's word list, quiet
hours, the SMS, the provider's signed reply, an opt-out by reply and the figures."""

from __future__ import annotations

import json
import time as wall
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from services.notify.api_family_replies import signature
from services.notify.app import create_app
from services.notify import store_admin, store_family
from shared.conditional import no_precondition
from shared.contracts import DutyScheduled, PairingCreated
from shared.crypto import FieldCipher
from tests.notify.support import J, child, enrol, envelope, handle, rows
from tests.notify.test_delivery import (  # noqa: F401 (providers and http are fixtures)
    GRANDPARENT, MOTHER, MOTHER_PHONE, NIGHT, NOON, Clock, _DAY, http, make_loop, make_settings, providers,
)
from tests.support.auth import COUNTY, bearer

pytestmark = pytest.mark.clock

REPLY_SECRET = "reply-secret-for-tests-0123456789"


@pytest_asyncio.fixture(loop_scope="session")
async def family(notify_db, providers, pool) -> AsyncIterator[dict]:  # type: ignore[no-untyped-def]  # noqa: F811
    """A child paired with a caregiver, the app on the database, the settings' clock at noon."""
    settings = make_settings(notify_db, providers, sms_reply_secret=REPLY_SECRET)
    kid = child()
    await handle(pool, settings, envelope(kid))
    caregiver = uuid.uuid4()
    await enrol(pool, settings, caregiver)
    await handle(pool, settings, envelope(PairingCreated(child_id=kid.child_id, pairing_id=uuid.uuid4(),
                                                         caregiver_id=caregiver, jurisdiction=J,
                                                         started_on=date(2026, 9, 1))))
    app = create_app(settings, cipher=FieldCipher.development())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            yield {"api": client, "settings": settings, "child": kid.child_id, "caregiver": caregiver,
                   "as_caregiver": bearer(roles=["caregiver"], jurisdiction=J.township_code,
                                          caregiver_id=str(caregiver), subject="teacher-li")}


def _signed(body: dict, *, secret: str = REPLY_SECRET, at: float | None = None) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(at if at is not None else wall.time()))
    return raw, {"X-Signature-Timestamp": stamp, "X-Signature": signature(secret, stamp, raw),
                 "Content-Type": "application/json"}


async def test_a_monthly_note_reaches_a_migrant_mother_after_quiet_hours_and_her_reply_is_recorded(
        family, pool, providers, http) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    api, settings, kid, me = family["api"], family["settings"], family["child"], family["as_caregiver"]
    notes = f"/v1/children/{kid}/family-notes"
    text = "妈妈您好，小雨这个月数学测验得了92分，和同学相处很好，每天按时完成作业。"

    # Not yet agreed to messages: refused, nothing planned.
    refused = await api.post(notes, headers=me, json={"member_id": str(MOTHER), "text": text})
    assert refused.status_code == 409 and refused.json()["code"] == "not_opted_in"

    # The mother agreed by phone; the caregiver records it (who, when and how are kept).
    consent = await api.put(f"/v1/children/{kid}/family-consents/{MOTHER}", headers=me,
                            json={"member_kind": "parent", "opted_in": True, "how": "by_phone"})
    assert consent.status_code == 200, consent.text
    assert (consent.json()["recorded_by"], consent.json()["how"], consent.json()["opted_in"]) == (
        "teacher-li", "by_phone", True)

    # A stigmatising word is named before sending, and refused by the send with 422 naming it.
    check = await api.post(f"{notes}/check", headers=me, json={"text": "这个留守孩子很可怜"})
    assert check.json() == {"words": ["留守", "可怜"]}
    stigma = await api.post(notes, headers=me, json={"member_id": str(MOTHER), "text": "这个留守孩子很可怜"})
    assert stigma.status_code == 422 and "留守" in stigma.text and "可怜" in stigma.text
    assert (await api.post(f"{notes}/check", headers=me, json={"text": text})).json() == {"words": []}

    # Written at 22:00 in the county: it waits until the morning, on the one clock.
    clock = Clock(settings, NIGHT)
    sent = await api.post(notes, headers=me, json={"member_id": str(MOTHER), "text": text})
    assert sent.status_code == 201, sent.text
    note = sent.json()
    morning = datetime.combine(_DAY, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=23, minutes=30)
    assert datetime.fromisoformat(note["waits_until"]) == morning  # 07:30 the next day in Asia/Shanghai
    [waiting] = [n for n in (await api.get(notes, headers=me)).json()["items"] if n["id"] == note["id"]]
    assert datetime.fromisoformat(waiting["waits_until"]) == morning and waiting["status"] == "pending"
    loop = make_loop(settings, pool, http, clock)
    await loop.run_once()
    assert not [r for r in providers.sms if r.headers["idempotency-key"] == note["notification_id"]]
    [row] = await rows(pool, "SELECT status, variables FROM notifications WHERE id = $1",
                       uuid.UUID(note["notification_id"]))
    # the text is not stored there (its words; a bare "92" could be part of a uuid)
    assert row["status"] == "pending" and "数学测验" not in json.dumps(row["variables"], ensure_ascii=False)

    clock.at = morning + timedelta(minutes=1)
    await loop.run_once()
    [sms] = [r for r in providers.sms if r.headers["idempotency-key"] == note["notification_id"]]
    assert sms.json()["to"] == MOTHER_PHONE  # the parent's entry, by its id, asked of the registry
    assert sms.json()["text"] == f"{text}（王老师）"
    # The event says which message went out, never its words or the number.
    events = [r["payload"] for r in await rows(pool, "SELECT payload FROM outbox WHERE payload->>'notification_id' = $1",
                                               note["notification_id"])]
    assert len(events) == 2  # NotificationSent, and FamilyNoteSent for the work summary's figure
    [outcome] = [e for e in events if "template" in e]
    [figure] = [e for e in events if "letter_id" in e]
    assert outcome["template"] == "family_note" and figure["letter_id"] == note["id"]
    assert (figure["member_kind"], figure["jurisdiction"]["township_code"]) == ("parent", J.township_code)
    shown = json.dumps(events, ensure_ascii=False)
    assert "数学测验" not in shown and "92分" not in shown and "13700137000" not in shown

    # The provider posts her reply back, signed; a post with a wrong signature is refused.
    reply = {"id": "r-1", "message_id": note["notification_id"], "text": "谢谢老师，辛苦了！",
             "received_at": clock.at.isoformat()}
    raw, headers = _signed(reply, at=clock.at.timestamp())
    forged = await api.post("/v1/sms/replies", content=raw, headers={**headers, "X-Signature": "0" * 64})
    assert forged.status_code == 401
    late = _signed(reply, at=(clock.at - timedelta(hours=1)).timestamp())
    assert (await api.post("/v1/sms/replies", content=late[0], headers=late[1])).status_code == 401
    for _ in range(2):  # the provider retries: recorded once
        answer = await api.post("/v1/sms/replies", content=raw, headers=headers)
        assert answer.status_code == 200, answer.text
    listed = (await api.get(notes, headers=me)).json()["items"]
    [shown] = [n for n in listed if n["id"] == note["id"]]
    assert shown["status"] == "sent" and shown["text"] == text
    assert [r["text"] for r in shown["replies"]] == ["谢谢老师，辛苦了！"]

    # The figures: notes written and sent in the county's month, no words, no names.
    since, until = clock.at - timedelta(days=2), clock.at + timedelta(days=1)
    figures = await api.get("/v1/family-notes/summary", headers=bearer(roles=["county_staff"], jurisdiction=COUNTY),
                            params={"since": since.isoformat(), "until": until.isoformat()})
    assert figures.status_code == 200 and figures.json()["sent"] >= 1 and figures.json()["written"] >= 1

    # "退订" opts her out (by reply); the next note is refused.
    stop = {"id": "r-2", "message_id": note["notification_id"], "text": " 退订 ", "received_at": clock.at.isoformat()}
    raw, headers = _signed(stop, at=clock.at.timestamp())
    assert (await api.post("/v1/sms/replies", content=raw, headers=headers)).status_code == 200
    [consent_row] = (await api.get(f"/v1/children/{kid}/family-consents", headers=me)).json()["items"]
    assert (consent_row["opted_in"], consent_row["how"]) == (False, "by_reply")
    again = await api.post(notes, headers=me, json={"member_id": str(MOTHER), "text": text})
    assert again.status_code == 409


async def test_only_the_paired_caregiver_writes_and_a_county_edits_its_words(family, pool) -> None:  # type: ignore[no-untyped-def]
    api, kid = family["api"], family["child"]
    stranger = bearer(roles=["caregiver"], jurisdiction=J.township_code, caregiver_id=str(uuid.uuid4()))
    assert (await api.get(f"/v1/children/{kid}/family-notes", headers=stranger)).status_code == 404
    assert (await api.put(f"/v1/children/{kid}/family-consents/{MOTHER}", headers=stranger,
                          json={"member_kind": "parent", "opted_in": True, "how": "in_person"})).status_code == 404
    # Staff in the child's place read the consents; staff elsewhere get 404.
    staff = bearer(roles=["county_staff"], jurisdiction=COUNTY)
    assert (await api.get(f"/v1/children/{kid}/family-consents", headers=staff)).status_code == 200
    elsewhere = bearer(roles=["county_staff"], jurisdiction="330103000000")
    assert (await api.get(f"/v1/children/{kid}/family-consents", headers=elsewhere)).status_code == 404

    admin = bearer(roles=["admin"], jurisdiction=COUNTY)
    words = await api.get(f"/v1/family-words/{COUNTY}", headers=admin)
    assert words.json()["default"] is True and "问题儿童" in words.json()["words"]
    saved = await api.put(f"/v1/family-words/{COUNTY}", headers=admin, json={"words": ["调皮", " 调皮 ", "留守"]})
    assert saved.status_code == 200 and saved.json()["words"] == ["调皮", "留守"]
    stale = await api.put(f"/v1/family-words/{COUNTY}", headers={**admin, "If-Match": '"7"'}, json={"words": []})
    assert stale.status_code == 412
    check = await api.post(f"/v1/children/{kid}/family-notes/check", headers=family["as_caregiver"],
                           json={"text": "孩子有点调皮，但很可怜"})
    assert check.json() == {"words": ["调皮"]}  # the county's list now, not the default
    reset = await api.put(f"/v1/family-words/{COUNTY}", headers={**admin, "If-Match": saved.headers["etag"]},
                          json={"words": ["留守", "可怜"]})
    assert reset.status_code == 200


async def test_a_home_visit_notice_goes_only_to_family_who_agreed_where_the_county_switched_it_on(
        family, pool, providers, http) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    settings, kid = family["settings"], family["child"]
    duty = dict(child_id=kid, caregiver_id=family["caregiver"], jurisdiction=J, period_start=date(2026, 12, 1),
                due_on=date(2026, 12, 31))
    off = envelope(DutyScheduled(duty_id=uuid.uuid4(), duty_kind="home_visit", **duty))
    await handle(pool, settings, off)
    assert not await rows(pool, "SELECT 1 FROM notifications WHERE source_event_id = $1", off.id)  # off by default
    async with pool.acquire() as conn:
        await store_admin.put_rule(conn, COUNTY, "DutyScheduled", "guardian", "home_visit_scheduled_guardian", ["sms"],
                                   True, no_precondition)
        await store_family.record_consent(conn, child_id=kid, member_id=MOTHER, member_kind="parent", opted_in=True,
                                          how="in_writing", recorded_by="t", at=settings.clock.now())
        await store_family.record_consent(conn, child_id=kid, member_id=GRANDPARENT, member_kind="guardian",
                                          opted_in=False, how="in_person", recorded_by="t", at=settings.clock.now())
    talk = envelope(DutyScheduled(duty_id=uuid.uuid4(), duty_kind="talk", **duty))
    visit = envelope(DutyScheduled(duty_id=uuid.uuid4(), duty_kind="home_visit", **duty))
    for event in (talk, visit):
        await handle(pool, settings, event)
    assert not await rows(pool, "SELECT 1 FROM notifications WHERE source_event_id = $1", talk.id)
    [row] = await rows(pool, "SELECT id, recipient_id FROM notifications WHERE source_event_id = $1", visit.id)
    assert row["recipient_id"] == str(MOTHER)
    await make_loop(settings, pool, http, Clock(settings, NOON)).run_once()
    [sms] = [r for r in providers.sms if r.headers["idempotency-key"] == str(row["id"])]
    assert sms.json()["to"] == MOTHER_PHONE
    assert sms.json()["text"] == "您好，联系老师王老师会在12月31日前到家里看看孩子，时间不方便的话，请与老师另约。"

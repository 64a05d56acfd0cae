"""Nothing vanishes silently. In a county with nothing configured — no staff to receive
escalations, no roster, no SMS or e-mail provider — the setup check names every missing
piece, every escalation and message is kept as undeliverable with its reason (listed for
county staff, counted in a metric), and once the missing piece is configured each is
delivered, once. A routing rule no handler can act on is refused."""

from __future__ import annotations

import uuid
from datetime import date
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from services.notify.app import create_app
from shared.contracts import ConcernRaised, ContactOverdue, DutyDueSoon
from shared.crypto import FieldCipher
from tests.notify.conftest import notify_settings
from tests.notify.fakes import serving
from tests.notify.support import COUNTY, J, TOWNSHIP, child, consume, enrol, rows
from tests.notify.test_delivery import NOON, Clock, Providers, make_loop, make_settings
from tests.support.auth import bearer

pytestmark = pytest.mark.clock

ADMIN = bearer(roles=["admin"], jurisdiction=COUNTY)
SCHOOL = "school-unconfigured"


@pytest_asyncio.fixture(loop_scope="session")
async def providers() -> AsyncIterator[Providers]:
    fake = Providers()
    async with serving(fake.http):
        yield fake


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def api(notify_db, providers) -> AsyncIterator[httpx.AsyncClient]:
    # The county as installed: no SMS provider, no SMTP relay.
    settings = notify_settings(notify_db, registry_base_url=providers.http.base_url,
                               pairing_base_url=providers.http.base_url, clock_now=NOON)
    app = create_app(settings, cipher=FieldCipher.development())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def test_a_rule_no_handler_can_act_on_is_refused(api) -> None:
    refused = await api.put(f"/v1/routing-rules/{COUNTY}/VisitLogged/guardian", headers=ADMIN,
                            json={"template": "contact_logged", "channels": ["sms"], "enabled": True})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "path.audience"
    overdue_to_duty = await api.put(f"/v1/routing-rules/{COUNTY}/ContactOverdue/on_duty", headers=ADMIN,
                                    json={"template": "contact_overdue_staff", "channels": ["in_app"], "enabled": True})
    assert overdue_to_duty.status_code == 422
    assert (await api.get("/v1/routing-rules", params={"county_code": COUNTY}, headers=ADMIN)).json()["items"][0][
        "county_code"] == ""  # nothing was stored


async def test_a_county_with_nothing_configured_loses_nothing(api, notify_db, providers, http) -> None:
    pool = api.app.state.pool  # type: ignore[attr-defined]
    bare = notify_settings(notify_db, registry_base_url=providers.http.base_url,
                           pairing_base_url=providers.http.base_url, clock_now=NOON)
    kid = child(school_id=SCHOOL)
    await consume(pool, bare, kid, event_id=uuid.uuid4())
    caregiver = uuid.uuid4()
    await enrol(pool, bare, caregiver, channels=("sms",))
    escalations = {level: uuid.uuid4() for level in ("school", "township", "county")}
    for level, event_id in escalations.items():
        await consume(pool, bare, ContactOverdue(
            child_id=kid.child_id, duty_id=uuid.uuid4(), caregiver_id=caregiver, duty_kind="home_visit",
            due_on=date(2026, 11, 30), days_overdue=10, escalation_level=level, jurisdiction=J), event_id=event_id)
    concern = uuid.uuid4()
    await consume(pool, bare, ConcernRaised(child_id=kid.child_id, concern_id=uuid.uuid4(), contact_id=uuid.uuid4(),
                                            severity="medium", mandatory_report=False, raised_at=NOON, jurisdiction=J),
                  event_id=concern)
    reminder = uuid.uuid4()
    await consume(pool, bare, DutyDueSoon(child_id=kid.child_id, duty_id=uuid.uuid4(), caregiver_id=caregiver,
                                          duty_kind="home_visit", due_on=date(2026, 12, 31), jurisdiction=J),
                  event_id=reminder)
    await make_loop(bare, pool, http, Clock(bare, NOON)).run_once()  # no SMS provider here

    # The setup check names every missing piece.
    setup = (await api.get("/v1/setup", headers=ADMIN)).json()
    missing = {(m["what"], m.get("rung"), m.get("school_id"), m.get("channel"), m["jurisdiction"])
               for m in setup["missing"]}
    assert missing == {
        ("recipients", "county", None, None, COUNTY), ("recipients", "township", None, None, TOWNSHIP),
        ("recipients", "school", SCHOOL, None, TOWNSHIP),
        ("duty_roster", None, None, None, COUNTY), ("duty_roster", None, None, None, TOWNSHIP),
        ("provider", None, None, "sms", COUNTY), ("provider", None, None, "email", COUNTY)}
    assert setup["complete"] is False and setup["undeliverable"] == {"no_recipient": 4, "no_provider": 1}
    assert "expected_counts" in setup["not_checked_here"][0]

    # Every escalation and the SMS are listed for county staff, with their reasons, and counted.
    waiting = (await api.get("/v1/undeliverable", headers=ADMIN)).json()
    assert waiting["total"] == 5 and waiting["next_cursor"] is None
    assert sorted((i["reason"], i["audience"], i["channel"]) for i in waiting["items"]) == [
        ("no_provider", "caregiver", "sms"), ("no_recipient", "county_staff", None),
        ("no_recipient", "on_duty", None), ("no_recipient", "school_staff", None),
        ("no_recipient", "township_staff", None)]
    assert all(str(kid.child_id) == i["child_id"] for i in waiting["items"])
    first_page = (await api.get("/v1/undeliverable", params={"limit": 2}, headers=ADMIN)).json()
    second = (await api.get("/v1/undeliverable", params={"limit": 2, "cursor": first_page["next_cursor"]},
                            headers=ADMIN)).json()
    assert {i["ref"] for i in first_page["items"]}.isdisjoint({i["ref"] for i in second["items"]})
    metrics = (await api.get("/metrics")).text
    assert 'shouhu_notify_undeliverable{channel="",reason="no_recipient"} 4.0' in metrics
    assert 'shouhu_notify_undeliverable{channel="sms",reason="no_provider"} 1.0' in metrics
    [sms] = await rows(pool, "SELECT status, last_error FROM notifications WHERE source_event_id = $1 AND "
                             "channel = 'sms'", reminder)
    assert (sms["status"], sms["last_error"]) == ("held", "no_provider")  # not pending for ever

    # Configured afterwards: staff for each rung (the inbox only), then an SMS provider.
    for level, extra in (("school", {"school_id": SCHOOL}), ("township", {}), ("county", {})):
        created = await api.post("/v1/staff-recipients", headers=ADMIN, json={
            "staff_id": f"{level}-officer", "jurisdiction": COUNTY if level == "county" else TOWNSHIP,
            "level": level, **extra})
        assert created.status_code == 201, created.text
    for _ in range(2):
        await make_loop(bare, pool, http, Clock(bare, NOON)).run_once()
    for level, event_id in escalations.items():
        delivered = await rows(pool, "SELECT recipient_id, channel, status FROM notifications "
                                     "WHERE source_event_id = $1 AND recipient_kind = 'staff'", event_id)
        assert [(r["recipient_id"], r["channel"], r["status"]) for r in delivered] == [
            (f"{level}-officer", "in_app", "sent")], level
    inbox = (await api.get("/v1/notifications", headers=bearer(roles=["school_staff"], jurisdiction=TOWNSHIP,
                                                                subject="school-officer"))).json()["items"]
    # Named now, from their owners: the place, the caregiver and the child.
    assert [item["text"][:34] for item in inbox] == ["【学校督办】清波街道清波门社区（清波小学）：王老师负责的李思雨的家访"]
    told = await rows(pool, "SELECT recipient_id FROM notifications WHERE source_event_id = $1", concern)
    assert [r["recipient_id"] for r in told] == ["township-officer"]  # no roster: the township's staff

    configured = make_settings(notify_db, providers)
    for _ in range(2):
        await make_loop(configured, pool, http, Clock(configured, NOON)).run_once()
    assert len(providers.sms) == 1
    [sms] = await rows(pool, "SELECT status FROM notifications WHERE source_event_id = $1 AND channel = 'sms'",
                       reminder)
    assert sms["status"] == "sent"

    after = (await api.get("/v1/undeliverable", headers=ADMIN)).json()
    assert after == {"items": [], "next_cursor": None, "total": 0}
    still = {m["what"] for m in (await api.get("/v1/setup", headers=ADMIN)).json()["missing"]}
    assert "recipients" not in still and "duty_roster" in still
    metrics = (await api.get("/metrics")).text
    assert 'shouhu_notify_undeliverable{channel="",reason="no_recipient"} 0.0' in metrics
    assert 'reason="no_provider"' not in metrics

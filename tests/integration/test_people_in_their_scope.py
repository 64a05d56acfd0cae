"""The field as it should work, across the real registry, pairing, visits and notify apps
(in-process, each on its own database; the events carried from each outbox to the others'
consumers by the real inbox path, as the relay and Kafka would):

- a teacher with three paired children opens the list of them with names and the parents'
  phones, sees what is due for each, and reads a reminder that names the child;
- a principal sees the school's overdue duties with teacher and child names, and nothing
  from another school;
- a county officer reads last month's figures as of its last day;
- in a county where nothing is configured, the setup check names every missing piece and no
  escalation is lost."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any, AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio

from services.notify.app import create_app as create_notify
from services.notify.contacts import HttpContactSource
from services.notify.entry import ENTRY as NOTIFY
from services.notify.handlers import build_handlers as notify_handlers
from services.pairing.handlers import VISITS_HANDLERS, registry_handlers
from services.registry.handlers import PAIRING_HANDLERS
from services.visits.handlers import build_handlers as visits_handlers
from shared.consumer import Consumer, RawRecord
from shared.contracts.events import PAIRING_TOPIC, REGISTRY_TOPIC, VISITS_TOPIC
from shared.crypto import FieldCipher
from shared.service_auth import ServiceTokenProvider
from shared.settings import AuthSettings
from tests.notify.conftest import notify_settings
from tests.pairing.harness import Harness as Pairing, start_harness
from tests.registry.helpers import Registry, child_body, running_registry, staff_headers
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer
from tests.support.databases import create_migrated_database, drop_database
from tests.visits.harness import Harness as Visits, open_harness

pytestmark = pytest.mark.clock

SHANGHAI = timezone(timedelta(hours=8))
PLACE = {"county_code": COUNTY, "township_code": TOWNSHIP, "village_code": VILLAGE}
OCT1, OCT20, OCT29, OCT31, NOV5, NOV12 = (date(2026, 10, 1), date(2026, 10, 20), date(2026, 10, 29),
                                         date(2026, 10, 31), date(2026, 11, 5), date(2026, 11, 12))


class Bus:
    """Moves every event the services have written to their outboxes to the consumers that
    subscribe to its topic, through the consumers' real inbox path, in the order written."""

    def __init__(self) -> None:
        self.sources: list[asyncpg.Pool] = []
        self.routes: list[tuple[str, Consumer]] = []
        self._offsets = iter(range(1, 1_000_000))

    async def flush(self) -> None:
        moved = True
        while moved:
            moved = False
            for pool in self.sources:
                async with pool.acquire() as conn:
                    rows = await conn.fetch("""UPDATE outbox SET status = 'published' WHERE status = 'pending'
                                               RETURNING id, topic, message_key, headers, payload::text AS payload""")
                for row in sorted(rows, key=lambda r: r["id"]):
                    moved = True
                    record = RawRecord(topic=row["topic"], partition=0, offset=next(self._offsets),
                                       key=row["message_key"].encode(),
                                       headers=[(k, v.encode()) for k, v in row["headers"].items()],
                                       value=row["payload"].encode())
                    for topic, consumer in self.routes:
                        if topic == row["topic"]:
                            await consumer.process(record)


@pytest_asyncio.fixture(loop_scope="session")
async def county(infra, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, Any]]:
    async with running_registry(infra) as registry:
        async for pairing in start_harness(infra):
            async for visits in open_harness(infra):
                url = await create_migrated_database(infra, "notify", NOTIFY.migrations_dir)
                settings = notify_settings(url, registry_base_url="http://registry", pairing_base_url="http://pairing")
                owners = httpx.AsyncClient(mounts={"http://registry": httpx.ASGITransport(app=registry.app),
                                                   "http://pairing": httpx.ASGITransport(app=pairing_app(pairing))})
                contacts = HttpContactSource(owners, ServiceTokenProvider(AuthSettings(), service_name="notify"),
                                             pairing_base_url="http://pairing", registry_base_url="http://registry")
                app = create_notify(settings, cipher=FieldCipher.development(), contacts=contacts)
                try:
                    async with app.router.lifespan_context(app), httpx.AsyncClient(
                            transport=httpx.ASGITransport(app=app), base_url="http://n") as notify:
                        bus = Bus()
                        bus.sources = [registry.pool, pairing.pool, visits.pool]
                        pool = app.state.pool
                        bus.routes = [
                            (PAIRING_TOPIC, Consumer(registry.settings, registry.pool, name="registry.pairing",
                                                     topics=(), handlers=PAIRING_HANDLERS)),
                            (REGISTRY_TOPIC, Consumer(pairing.settings, pairing.pool, name="pairing.registry",
                                                      topics=(), handlers=registry_handlers(pairing.settings.clock))),
                            (VISITS_TOPIC, Consumer(pairing.settings, pairing.pool, name="pairing.visits",
                                                    topics=(), handlers=VISITS_HANDLERS)),
                            *[(topic, Consumer(visits.settings, visits.pool, name=f"visits.{topic}", topics=(),
                                               handlers=visits_handlers(visits.settings)))
                              for topic in (REGISTRY_TOPIC, PAIRING_TOPIC)],
                            *[(topic, Consumer(settings, pool, name="notify.events", topics=(),
                                               handlers=notify_handlers(settings)))
                              for topic in (REGISTRY_TOPIC, PAIRING_TOPIC, VISITS_TOPIC)],
                        ]

                        def at(day: date, hour: int = 10) -> None:
                            moment = datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)
                            for each in (registry.settings, pairing.settings, visits.settings, settings):
                                each.clock_now = moment
                            monkeypatch.setenv("SHOUHU_CLOCK_NOW", moment.isoformat())

                        yield {"registry": registry, "pairing": pairing, "visits": visits, "notify": notify,
                               "notify_pool": pool, "bus": bus, "at": at}
                finally:
                    await owners.aclose()
                    await drop_database(infra, url)


def pairing_app(pairing: Pairing) -> Any:
    return pairing.client._transport.app  # type: ignore[attr-defined]


async def test_everyone_sees_whom_they_care_for_in_their_scope(county: dict[str, Any]) -> None:
    registry: Registry = county["registry"]
    pairing: Pairing = county["pairing"]
    visits: Visits = county["visits"]
    notify: httpx.AsyncClient = county["notify"]
    bus: Bus = county["bus"]
    at = county["at"]
    staff = staff_headers()

    # Four children at two schools, with their parents' numbers; the township expects five.
    at(OCT1)
    children: dict[str, str] = {}
    for index, (name, school) in enumerate((("李思雨", "s1"), ("王小明", "s1"), ("张强", "s1"), ("赵兰", "s2"))):
        body = child_body(name=name, school_id=school, gender="female" if index % 2 == 0 else "male",
                          parents=[{"relation": "mother", "name": f"{name[0]}母", "phone": f"1391234567{index}"}])
        created = await registry.client.post("/v1/children", json=body, headers=staff)
        assert created.status_code == 201, created.text
        children[name] = created.json()["id"]
    assert (await registry.client.put("/v1/expected-counts", headers=staff, json={
        "kind": "township", "code": TOWNSHIP, "township_code": TOWNSHIP, "expected": 5})).status_code == 200
    await bus.flush()

    # 王老师 (s1) takes three children, 刘老师 (s2) one.
    teachers = {}
    for name, school in (("王老师", "s1"), ("刘老师", "s2")):
        enrolled = await pairing.client.post("/v1/caregivers", headers=staff, json={
            "kind": "teacher", "name": name, "school_id": school, "capacity": 5,
            "jurisdiction": {"county_code": COUNTY, "township_code": TOWNSHIP}})
        assert enrolled.status_code == 201, enrolled.text
        teachers[name] = enrolled.json()["id"]
    for child, teacher in (("李思雨", "王老师"), ("王小明", "王老师"), ("张强", "王老师"), ("赵兰", "刘老师")):
        paired = await pairing.client.post("/v1/pairings", headers=staff, json={
            "child_id": children[child], "caregiver_id": teachers[teacher], "role": "lead"})
        assert paired.status_code == 201, paired.text
    await bus.flush()

    # The teacher: my children by name, with the parents' phones, and what is due for each.
    teacher = bearer(roles=["caregiver"], jurisdiction=COUNTY, caregiver_id=teachers["王老师"],
                     subject="teacher-wang")
    mine = (await registry.client.get("/v1/me/children", headers=teacher)).json()["items"]
    assert sorted(card["name"] for card in mine) == ["张强", "李思雨", "王小明"]
    assert all(card["parents"][0]["phone"].startswith("+86139123456") for card in mine)
    duties = (await visits.client.get("/v1/me/duties", params={"state": "all"}, headers=teacher)).json()["items"]
    assert {d["child_id"] for d in duties if d["due_on"] == OCT31.isoformat()} == {
        children["李思雨"], children["王小明"], children["张强"]}

    # She visits 李思雨 on 20 October; on the 29th a reminder names each child still owed.
    at(OCT20, hour=18)
    logged = await visits.client.post("/v1/contacts", headers=teacher, json={
        "id": str(uuid.uuid4()), "child_id": children["李思雨"], "caregiver_id": teachers["王老师"],
        "kind": "home_visit", "occurred_at": datetime(2026, 10, 20, 16, tzinfo=SHANGHAI).isoformat()})
    assert logged.status_code == 201, logged.text
    at(OCT29)
    await visits.scan(OCT29)
    await bus.flush()
    inbox = (await notify.get("/v1/notifications", headers=teacher)).json()["items"]
    reminders = [item["text"] for item in inbox if item["template"] == "duty_due_soon"]
    assert reminders and all(item["named"] for item in inbox)
    assert any(text.startswith("温馨提醒：王小明的家访") for text in reminders), reminders

    # A child registered in November does not change October's figures.
    at(NOV5)
    assert (await registry.client.post("/v1/children", json=child_body(name="陈晨", school_id="s2"),
                                       headers=staff)).status_code == 201
    await bus.flush()

    # 12 November: October's duties are late. The principal of s1 sees s1's, named.
    at(NOV12)
    await visits.scan(NOV12)
    await bus.flush()
    principal = bearer(roles=["school_staff"], jurisdiction=TOWNSHIP, school_id="s1", subject="principal-s1")
    late = (await visits.client.get("/v1/duties", params={"state": "overdue"}, headers=principal)).json()["items"]
    assert late and {d["school_id"] for d in late} == {"s1"}
    assert children["赵兰"] not in {d["child_id"] for d in late}
    child_names = {d["child_id"]: (await registry.client.get(f"/v1/children/{d['child_id']}", headers=principal)
                                   ).json()["name"] for d in late}
    caregiver_names = (await pairing.client.post("/v1/caregivers/names", headers=principal,
                                                 json={"ids": sorted({d["caregiver_id"] for d in late})})).json()
    lines = {f"{caregiver_names['names'][d['caregiver_id']]}：{child_names[d['child_id']]}" for d in late}
    assert lines == {"王老师：王小明", "王老师：张强", "王老师：李思雨"}
    assert (await registry.client.get(f"/v1/children/{children['赵兰']}", headers=principal)).status_code == 404

    # The county officer reads October as of its last day.
    officer = bearer(roles=["county_staff"], jurisdiction=COUNTY, subject="county-officer")
    registered = (await registry.client.get("/v1/statistics", params={"as_of": OCT31.isoformat()},
                                            headers=officer)).json()
    assert registered["total"] == 4
    assert (await registry.client.get("/v1/statistics", headers=officer)).json()["total"] == 5
    rate = (await registry.client.get("/v1/statistics/completeness", params={"as_of": OCT31.isoformat()},
                                      headers=officer)).json()
    assert rate["rate"] == 0.8
    coverage = (await pairing.client.get("/v1/statistics/coverage", params={"as_of": OCT31.isoformat()},
                                         headers=officer)).json()
    assert (coverage["total"]["active_children"], coverage["total"]["paired"]) == (4, 4)
    october = (await visits.client.get("/v1/statistics", headers=officer, params={
        "from": datetime(2026, 10, 1, tzinfo=SHANGHAI).isoformat(),
        "to": datetime(2026, 11, 1, tzinfo=SHANGHAI).isoformat(), "as_of": OCT31.isoformat()})).json()
    owed = await visits.fetchval("SELECT count(*) FROM duties WHERE due_on BETWEEN $1 AND $2", OCT1, OCT31)
    assert october["duties"] == {"due": owed, "done": 1, "overdue": 0}
    assert (october["coverage"]["active_children"], october["coverage"]["seen"]) == (4, 1)
    now = (await visits.client.get("/v1/statistics", headers=officer, params={"as_of": NOV12.isoformat()})).json()
    assert now["overdue_total"] == owed - 1

    # Nothing was configured in notify: every piece is named, and no escalation was lost.
    setup = (await notify.get("/v1/setup", headers=officer)).json()
    named = {(m["what"], m.get("rung"), m.get("school_id")) for m in setup["missing"]}
    assert {("recipients", "school", "s1"), ("recipients", "school", "s2"), ("recipients", "township", None),
            ("recipients", "county", None), ("duty_roster", None, None)} <= named
    escalated = await visits.fetch(
        "SELECT event_id FROM outbox WHERE event_type = 'cn.shouhu.ContactOverdue.v1'"
        " AND payload->>'escalation_level' <> 'caregiver'")
    assert escalated, "the November scan escalates October's duties"
    held = await county["notify_pool"].fetch("SELECT source_event_id FROM held_routings WHERE released_at IS NULL")
    assert {row["event_id"] for row in escalated} == {row["source_event_id"] for row in held}
    waiting = (await notify.get("/v1/undeliverable", params={"limit": 500}, headers=officer)).json()
    assert waiting["total"] >= len(escalated)

"""The field as it should work, across the real registry, pairing, visits and notify apps
(in-process, each on its own database; the events carried from each outbox to the others'
consumers by the real inbox path, as the relay and Kafka would):

- a teacher with three paired children opens the list of them with names and the parents'
  phones, sees what is due for each, and reads a reminder that names the child;
- a principal sees the school's overdue duties with teacher and child names (and the
  township's and school's), by teacher, and nothing from another school;
- a county officer reads last month's figures as of its last day;
- in a county where nothing is configured, the setup check names every missing piece and no
  escalation is lost: once the principal is registered, each reaches her naming the place,
  the teacher and the child."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any, AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio

from services.notify.app import create_app as create_notify
from services.notify.channels.factory import build_adapters
from services.notify.delivery import DeliveryLoop
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
from tests.registry.helpers import Registry, child_body, running_registry, seed_schools, staff_headers
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
                               "notify_pool": pool, "bus": bus, "at": at,
                               "delivery": DeliveryLoop(settings, pool, adapters=build_adapters(settings, owners),
                                                        contacts=contacts, cipher=FieldCipher.development())}
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

    # Four children at two schools of the county's register, with their parents' numbers; the
    # township expects five.
    at(OCT1)
    await seed_schools(registry, COUNTY, [{"id": "s1", "name": "清波小学", "township_code": TOWNSHIP},
                                          {"id": "s2", "name": "柳浪小学", "township_code": TOWNSHIP}])
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
    assert {(card["place"]["village_name"], card["place"]["school_name"]) for card in mine} == {("清波门社区", "清波小学")}
    duties = (await visits.client.get("/v1/me/duties", params={"state": "all"}, headers=teacher)).json()["items"]
    name_of = {card["id"]: card["name"] for card in mine}
    due = {}
    for duty in duties:
        due.setdefault(name_of[duty["child_id"]], set()).add((duty["duty_kind"], duty["due_on"]))
    assert set(due) == {"李思雨", "王小明", "张强"}
    assert all(("home_visit", OCT31.isoformat()) in kinds for kinds in due.values()), due

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
    # The list carries ids and codes; the names come from their owners' batch reads, as the
    # console composes them: the registry's (the child, the township, village and school) and
    # pairing's (the teacher).
    principal = bearer(roles=["school_staff"], jurisdiction=TOWNSHIP, school_id="s1", subject="principal-s1")
    late = (await visits.client.get("/v1/duties", params={"state": "overdue"}, headers=principal)).json()["items"]
    assert late and {d["school_id"] for d in late} == {"s1"}
    assert children["赵兰"] not in {d["child_id"] for d in late}
    named = (await registry.client.post("/v1/children/names", headers=principal,
                                        json={"ids": sorted({d["child_id"] for d in late})})).json()
    caregiver_names = (await pairing.client.post("/v1/caregivers/names", headers=principal,
                                                 json={"ids": sorted({d["caregiver_id"] for d in late})})).json()

    def line(duty: dict[str, Any]) -> str:
        where = named["places"][duty["child_id"]]
        return (f"{where['township_name']} {where['school_name']} {caregiver_names['names'][duty['caregiver_id']]}："
                f"{named['names'][duty['child_id']]}")

    assert {line(d) for d in late} == {"清波街道 清波小学 王老师：王小明", "清波街道 清波小学 王老师：张强",
                                       "清波街道 清波小学 王老师：李思雨"}
    # Filtered by the teacher, the same; another school is refused, its records are not there.
    by_teacher = (await visits.client.get("/v1/duties", headers=principal, params={
        "state": "overdue", "caregiver_id": teachers["王老师"]})).json()["items"]
    assert {d["id"] for d in by_teacher} == {d["id"] for d in late}
    assert (await visits.client.get("/v1/duties", headers=principal, params={
        "state": "overdue", "caregiver_id": teachers["刘老师"]})).json()["items"] == []
    other = await visits.client.get("/v1/duties", params={"state": "overdue", "school_id": "s2"}, headers=principal)
    assert other.status_code == 403 and other.json()["errors"][0]["field"] == "query.school_id"
    assert (await registry.client.get(f"/v1/children/{children['赵兰']}", headers=principal)).status_code == 404
    assert (await registry.client.post("/v1/children/names", headers=principal,
                                       json={"ids": [children["赵兰"]]})).json()["names"] == {}
    # The school's pairings and children, by teacher: 王老师's three, nothing of s2.
    pairings = (await pairing.client.get("/v1/pairings", headers=principal)).json()["items"]
    assert {p["child_id"] for p in pairings} == {children[n] for n in ("李思雨", "王小明", "张强")}
    assert (await pairing.client.get("/v1/pairings", params={"school_id": "s2"}, headers=principal)).status_code == 403
    taught = (await registry.client.get("/v1/children", params={"caregiver_id": teachers["王老师"]},
                                        headers=principal)).json()["items"]
    assert sorted(c["name"] for c in taught) == ["张强", "李思雨", "王小明"]
    assert (await registry.client.get("/v1/children", params={"caregiver_id": teachers["刘老师"]},
                                      headers=principal)).json()["items"] == []

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

    # The principal is registered to receive s1's escalations: the held ones reach her, and
    # each says where, who and for whom by name (composed when read; never stored or sent in events).
    admin = bearer(roles=["admin"], jurisdiction=COUNTY, subject="county-admin")
    registered = await notify.post("/v1/staff-recipients", headers=admin, json={
        "staff_id": "principal-s1", "jurisdiction": TOWNSHIP, "level": "school", "school_id": "s1"})
    assert registered.status_code == 201, registered.text
    await county["delivery"].run_once()
    inbox = (await notify.get("/v1/notifications", params={"limit": 500}, headers=principal)).json()["items"]
    escalations = [item["text"] for item in inbox if item["template"] == "contact_overdue_staff"]
    assert escalations and all(item["named"] for item in inbox)
    prefix = "【学校督办】清波街道清波门社区（清波小学）：王老师负责的"
    assert all(text.startswith(prefix) for text in escalations), escalations
    assert {text[len(prefix):].split("的")[0] for text in escalations} <= {"李思雨", "王小明", "张强"}
    assert any(text.startswith(prefix + "王小明的家访（应于10月31日完成）已逾期12天") for text in escalations), escalations
    assert not any("赵兰" in text or "刘老师" in text or "柳浪" in text for text in escalations)
    stored = await county["notify_pool"].fetch("SELECT variables::text AS v FROM notifications")
    assert not any(word in row["v"] for row in stored for word in ("王小明", "清波小学", "王老师"))
    log = (await notify.get("/v1/deliveries", params={"limit": 500}, headers=principal)).json()["items"]
    assert log and {entry["school_id"] for entry in log} == {"s1"}

"""The work summary of last month and of the last term, as of their last days, equals the
figures recomputed from the owning services' own tables as they stood on those days.

Registry, pairing and visits run as real processes on real Kafka and PostgreSQL with their
clock set (SHOUHU_CLOCK_NOW) and moved four times, restarting them: the start of the autumn
term, its last evening, the last days of February, and 10 March, "today". At each of the
term's and February's last evenings the test recomputes the period's figures from the
owners' tables. Afterwards more happens: contacts logged late for both periods, children
closed and registered, pairings ended. Then the reports service, started on 10 March, reads
every event from the beginning, and the summaries of February and of the term, as of their
last days, must give the figures recomputed back then."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest_asyncio

from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer, staff
from tests.support.processes import Service, wait_ready
from tests.support.stack import start_service
from tests.support.waiting import wait_for

CHINA = ZoneInfo("Asia/Shanghai")
TOWNSHIP_2 = "330102003000"  # 湖滨街道
VILLAGES = {TOWNSHIP: VILLAGE, TOWNSHIP_2: "330102003050"}
TERM = (date(2025, 9, 1), date(2026, 1, 31))  # the autumn term (第一学期)
FEBRUARY = (date(2026, 2, 1), date(2026, 2, 28))  # "last month" on 10 March
TERM_START, TERM_LAST_EVENING, FEBRUARY_LAST_DAYS, TODAY = (
    datetime(2025, 9, 1, 10, tzinfo=CHINA), datetime(2026, 1, 31, 19, tzinfo=CHINA),
    datetime(2026, 2, 27, 19, tzinfo=CHINA), datetime(2026, 3, 10, 10, tzinfo=CHINA))
OWNERS = ("registry", "pairing", "visits")
COMPARED = ("children_registered", "expected", "registration_rate", "newly_registered", "closed", "pairs_formed",
            "pairs_ended", "children_paired", "coverage", "home_visits", "talks", "parent_calls", "contacts_total",
            "children_contacted", "caregivers_taking_part", "concerns_raised", "mandatory_reports")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def owners(infra, tmp_path_factory) -> AsyncIterator[dict[str, Any]]:
    prefix = infra.new_topic_prefix("asof")
    logs = tmp_path_factory.mktemp("reports-as-of-logs")
    services: dict[str, Service] = {}
    try:
        for name in OWNERS:
            services[name] = await start_service(infra, name, topic_prefix=prefix, log_dir=logs,
                                                 extra_env={"SHOUHU_CLOCK_NOW": TERM_START.isoformat()})
        for service in services.values():
            await wait_ready(service)
        yield {"services": services, "infra": infra, "prefix": prefix, "logs": logs}
    finally:
        for service in services.values():
            service.api.stop()
            service.worker.stop()


async def _quiet(services: dict[str, Service]) -> None:
    """Every outbox published and every consumer caught up (bounded)."""
    async with httpx.AsyncClient(timeout=10) as client:
        async def settled() -> bool:
            for service in services.values():
                ready = (await client.get(f"{service.base_url}/readyz")).json()
                if ready.get("outbox_pending") != 0 or ready.get("consumer_lag") not in (0, None):
                    return False
            return True

        await wait_for(settled, timeout=90, interval=0.3, what="outboxes published and consumers caught up")


async def _move_clock(services: dict[str, Service], to: datetime) -> None:
    """Restarts the owners with their clock standing at `to` (their databases kept)."""
    await _quiet(services)
    for service in services.values():
        service.api.stop()
        service.worker.stop()
        service.env["SHOUHU_CLOCK_NOW"] = to.isoformat()
        service.api.start()
        service.worker.start()
    for service in services.values():
        await wait_ready(service)


async def _fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def _recomputed(services: dict[str, Service], period: tuple[date, date], closed_before: int) -> dict[str, Any]:
    """The period's figures from the owners' tables as they stand on its last evening, by
    the owners' own meanings: the registry's records and expected counts, pairing's
    pairings, visits' contacts and concerns. `closed_before`: records closed before it."""
    start, end = period
    begin = datetime.combine(start, datetime.min.time(), tzinfo=CHINA)
    finish = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=CHINA)
    registry, pairing, visits = (services[name].database_url for name in OWNERS)
    children = await _fetch(registry, "SELECT id, status, created_at FROM children WHERE county_code = $1", COUNTY)
    registered = {row["id"] for row in children if row["status"] != "closed"}
    closed = sum(row["status"] == "closed" for row in children)
    expected = sum(row["expected"] for row in await _fetch(
        registry, "SELECT expected FROM expected_counts WHERE kind = 'township'"))
    pairings = await _fetch(pairing, "SELECT child_id, started_on, ended_on FROM pairings")
    paired = {row["child_id"] for row in pairings
              if row["started_on"] <= end and (row["ended_on"] is None or row["ended_on"] > end)} & registered
    contacts = await _fetch(visits, "SELECT kind, child_id, caregiver_id FROM contacts"
                                    " WHERE occurred_at >= $1 AND occurred_at < $2", begin, finish)
    concerns = await _fetch(visits, "SELECT mandatory_report FROM concerns WHERE raised_at >= $1 AND raised_at < $2",
                            begin, finish)
    kinds = [row["kind"] for row in contacts]
    return {
        "children_registered": len(registered), "expected": expected,
        "registration_rate": round(len(registered) / expected, 4),
        "newly_registered": sum(begin <= row["created_at"] < finish for row in children),
        "closed": closed - closed_before,
        "pairs_formed": sum(start <= row["started_on"] <= end for row in pairings),
        "pairs_ended": sum(row["ended_on"] is not None and start <= row["ended_on"] <= end for row in pairings),
        "children_paired": len(paired), "coverage": round(len(paired) / len(registered), 4),
        "home_visits": kinds.count("home_visit"), "talks": kinds.count("talk"),
        "parent_calls": kinds.count("parent_call") + kinds.count("parent_video"), "contacts_total": len(kinds),
        "children_contacted": len({row["child_id"] for row in contacts}),
        "caregivers_taking_part": len({row["caregiver_id"] for row in contacts}),
        "concerns_raised": len(concerns), "mandatory_reports": sum(row["mandatory_report"] for row in concerns),
    }


class County:
    """The county's staff and caregivers at work, through the owners' public APIs."""

    def __init__(self, client: httpx.AsyncClient, services: dict[str, Service]) -> None:
        self.client = client
        self.services = services
        self.children: list[str] = []
        self.caregivers: list[str] = []
        self.pairings: dict[tuple[int, int], str] = {}

    def url(self, service: str, path: str) -> str:
        return f"{self.services[service].base_url}{path}"

    async def until_created(self, service: str, path: str, body: dict, headers: dict, what: str) -> dict:
        """POSTs until the owner knows what the body refers to (built from events)."""
        async def created() -> Any:
            response = await self.client.post(self.url(service, path), json=body, headers=headers)
            assert response.status_code in (200, 201, 403, 404, 409, 422), response.text
            return response.json() if response.status_code in (200, 201) else None

        return await wait_for(created, timeout=60, interval=0.3, what=what)

    async def register(self, township: str) -> int:
        index = len(self.children)
        created = await self.client.post(self.url("registry", "/v1/children"), headers=staff(), json={
            "name": "王李张刘陈杨黄赵吴周"[index] + "小明", "gender": "female" if index % 2 else "male",
            "birth_date": "2015-03-09",
            "jurisdiction": {"county_code": COUNTY, "township_code": township, "village_code": VILLAGES[township]},
            "school_id": "school-1" if township == TOWNSHIP else "school-2", "categories": ["left_behind"]})
        assert created.status_code == 201, created.text
        self.children.append(created.json()["id"])
        return index

    async def close(self, child: int) -> None:
        closed = await self.client.post(self.url("registry", f"/v1/children/{self.children[child]}/close"),
                                        headers=staff(), json={"reason": "parents_returned", "version": 1})
        assert closed.status_code == 200, closed.text

    async def enrol(self, township: str) -> int:
        enrolled = await self.client.post(self.url("pairing", "/v1/caregivers"), headers=staff(), json={
            "kind": "teacher", "capacity": 3,
            "jurisdiction": {"county_code": COUNTY, "township_code": township, "village_code": VILLAGES[township]}})
        assert enrolled.status_code == 201, enrolled.text
        self.caregivers.append(enrolled.json()["id"])
        return len(self.caregivers) - 1

    async def pair(self, child: int, caregiver: int) -> None:
        pairing = await self.until_created("pairing", "/v1/pairings", {
            "child_id": self.children[child], "caregiver_id": self.caregivers[caregiver]}, staff(), "a pairing")
        self.pairings[(child, caregiver)] = pairing["id"]

    async def end(self, child: int, caregiver: int) -> None:
        ended = await self.client.post(self.url("pairing", f"/v1/pairings/{self.pairings[(child, caregiver)]}/end"),
                                       headers=staff(), json={"reason": "reassigned"})
        assert ended.status_code == 200, ended.text

    async def contact(self, child: int, caregiver: int, kind: str, occurred_at: datetime, *,
                      concern: bool = False) -> None:
        token = bearer(roles=["caregiver"], jurisdiction=COUNTY, caregiver_id=self.caregivers[caregiver],
                       subject=f"caregiver-{caregiver}")
        extra = {"concerns": [{"category": "suspected_abuse", "severity": "urgent"}]} if concern else {}
        await self.until_created("visits", "/v1/contacts", {
            "id": str(uuid.uuid4()), "child_id": self.children[child], "caregiver_id": self.caregivers[caregiver],
            "kind": kind, "occurred_at": occurred_at.isoformat(), **extra}, token, "a contact")


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=CHINA).replace(hour=hour)


async def test_last_month_and_last_term_as_of_their_last_days_match_the_owners(owners) -> None:
    services: dict[str, Service] = owners["services"]
    async with httpx.AsyncClient(timeout=30) as client:
        county = County(client, services)
        # 1 September 2025: six children, expected counts, two teachers, four pairs, a visit.
        for township in (TOWNSHIP, TOWNSHIP, TOWNSHIP, TOWNSHIP_2, TOWNSHIP_2, TOWNSHIP_2):
            await county.register(township)
        for code in (TOWNSHIP, TOWNSHIP_2):
            response = await client.put(county.url("registry", "/v1/expected-counts"), headers=staff(), json={
                "kind": "township", "code": code, "township_code": code, "expected": 4})
            assert response.status_code == 200, response.text
        await county.enrol(TOWNSHIP)
        await county.enrol(TOWNSHIP_2)
        for child, caregiver in ((0, 0), (1, 0), (3, 1), (4, 1)):
            await county.pair(child, caregiver)
        await county.contact(0, 0, "home_visit", TERM_START - timedelta(hours=1))

        # 31 January 2026, evening: the term's last contacts, one raising a mandatory report; a
        # record closed, a child registered, a pair ended.
        await _move_clock(services, TERM_LAST_EVENING)
        await county.contact(1, 0, "talk", _at(date(2025, 12, 10)))
        await county.contact(3, 1, "home_visit", TERM_LAST_EVENING - timedelta(hours=2), concern=True)
        await county.contact(4, 1, "parent_call", _at(date(2026, 1, 20)))
        await county.close(5)
        await county.register(TOWNSHIP)  # child 6
        await county.end(4, 1)
        await _quiet(services)
        term = await _recomputed(services, TERM, closed_before=0)
        closed_by_term_end = 1

        # 27 February: February's contacts, a visit of 20 January logged only now, child 6
        # paired, child 2 closed, child 7 registered.
        await _move_clock(services, FEBRUARY_LAST_DAYS)
        await county.contact(0, 0, "home_visit", _at(date(2026, 2, 10)))
        await county.contact(1, 0, "parent_video", _at(date(2026, 2, 15)))
        await county.contact(3, 1, "talk", _at(date(2026, 2, 20)))
        await county.contact(0, 0, "talk", _at(date(2026, 1, 20)))  # late for the term
        await county.pair(6, 0)
        await county.close(2)
        await county.register(TOWNSHIP_2)  # child 7
        await _quiet(services)
        february = await _recomputed(services, FEBRUARY, closed_before=closed_by_term_end)

        # 10 March: a February visit logged late, a record closed, a pair ended, a child registered.
        await _move_clock(services, TODAY)
        await county.contact(1, 0, "home_visit", _at(date(2026, 2, 25)))  # late for February
        await county.contact(6, 0, "talk", TODAY - timedelta(hours=1))
        await county.close(4)
        await county.end(0, 0)
        await county.register(TOWNSHIP)  # child 8
        await _quiet(services)

        # The reports service starts now and reads every event from the beginning.
        reports = await start_service(owners["infra"], "reports", topic_prefix=owners["prefix"], log_dir=owners["logs"],
                                      extra_env={"SHOUHU_CLOCK_NOW": TODAY.isoformat(),
                                                 "SHOUHU_REPORTS_REGISTRY_BASE_URL": services["registry"].base_url})
        try:
            await wait_ready(reports)
            contacts_logged = len(await _fetch(services["visits"].database_url, "SELECT id FROM contacts"))
            children_known = len(county.children)

            async def caught_up() -> bool:
                rows = await _fetch(reports.database_url, """SELECT (SELECT count(*) FROM contacts) AS contacts,
                    (SELECT count(DISTINCT child_id) FROM child_versions) AS children,
                    (SELECT count(*) FROM pairings WHERE ended_on IS NOT NULL) AS ended,
                    (SELECT count(*) FROM child_versions WHERE status = 'closed') AS closed""")
                row = rows[0]
                return (row["contacts"], row["children"], row["ended"], row["closed"]) == (
                    contacts_logged, children_known, 2, 3)

            await wait_for(caught_up, timeout=120, interval=0.5, what="reports to read every event")

            for period, wanted in ((TERM, term), (FEBRUARY, february)):
                response = await client.get(f"{reports.base_url}/v1/summary", headers=staff(), params={
                    "from": period[0].isoformat(), "to": period[1].isoformat()})
                assert response.status_code == 200, response.text
                body = response.json()
                assert body["period"]["as_of"] == period[1].isoformat()
                figures = {figure["key"]: figure["value"] for figure in body["figures"]}
                assert {key: figures[key] for key in COMPARED} == wanted, period
        finally:
            reports.api.stop()
            reports.worker.stop()
    # What the story makes of the two periods, so that the comparison above cannot pass on
    # empty figures: the term knew four visits (the late one of 20 January not among them),
    # February three (the late one of the 25th not among them).
    assert (term["contacts_total"], term["closed"], term["pairs_ended"], term["mandatory_reports"]) == (4, 1, 1, 1)
    assert (february["contacts_total"], february["closed"], february["newly_registered"]) == (3, 1, 1)
    assert (term["children_registered"], february["children_registered"]) == (6, 6)

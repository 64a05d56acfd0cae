"""The reports service among the real ones, over real Kafka and PostgreSQL: children
registered, closed and counted against expected counts in the registry, caregivers paired
in pairing, contacts, duties and a concern in visits; the reports worker reads their
events and the summary's figures equal those recomputed from the owning services' own
tables. Aid given in pairing reaches the reports' support ledger, named by the registry."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import date, datetime, timedelta
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest_asyncio

from shared.clock import from_env
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer, staff
from tests.support.processes import REPO, wait_ready
from tests.support.stack import start_service
from tests.support.waiting import wait_for

CHINA = ZoneInfo("Asia/Shanghai")
TOWNSHIP_2 = "330102003000"  # 湖滨街道
VILLAGES = {TOWNSHIP: VILLAGE, TOWNSHIP_2: "330102003050"}  # real places of the register
NAMES = ("王小明", "李小红", "张伟", "刘洋", "陈静")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(infra, tmp_path_factory) -> AsyncIterator[dict]:
    prefix = infra.new_topic_prefix("rep")
    logs = tmp_path_factory.mktemp("reports-flow-logs")
    services = {}
    try:
        for name in ("registry", "pairing", "visits", "reports"):
            # Reports names places from the registry's division register and a ledger's children,
            # caregivers, schools and activity types from their owners, with its own token.
            extra = {"SHOUHU_REPORTS_REGISTRY_BASE_URL": services["registry"].base_url,
                     "SHOUHU_REPORTS_PAIRING_BASE_URL": services["pairing"].base_url,
                     "SHOUHU_REPORTS_VISITS_BASE_URL": services["visits"].base_url} if name == "reports" else None
            services[name] = await start_service(infra, name, topic_prefix=prefix, log_dir=logs, extra_env=extra)
        for service in services.values():
            await wait_ready(service)
        yield services
    finally:
        for service in services.values():
            service.api.stop()
            service.worker.stop()


def _place(township: str) -> dict[str, str]:
    return {"county_code": COUNTY, "township_code": township, "village_code": VILLAGES[township]}


async def _until_created(client: httpx.AsyncClient, url: str, body: dict, headers: dict, what: str) -> dict:
    """POSTs until the owning service knows what the body refers to (its projection is
    built from events), then returns the created record."""
    async def created() -> Any:
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code in (200, 201, 403, 404, 409, 422), response.text
        return response.json() if response.status_code in (200, 201) else None

    return await wait_for(created, timeout=60, interval=0.3, what=what)


async def _fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def _recomputed(stack: dict, start: date, end: date) -> dict[str, Any]:
    """The summary's figures from the owning services' tables, by their own meanings."""
    registry, pairing, visits = (stack[name].database_url for name in ("registry", "pairing", "visits"))
    begin = datetime.combine(start, datetime.min.time(), tzinfo=CHINA)
    finish = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=CHINA)
    children = await _fetch(registry, "SELECT id, status, priority FROM children WHERE county_code = $1", COUNTY)
    registered = {row["id"] for row in children if row["status"] != "closed"}
    expected = sum(row["expected"] for row in await _fetch(
        registry, "SELECT expected FROM expected_counts WHERE kind = 'township'"))
    pairings = await _fetch(pairing, "SELECT child_id, started_on, ended_on FROM pairings")
    paired = {row["child_id"] for row in pairings if row["ended_on"] is None or row["ended_on"] > end} & registered
    contacts = await _fetch(visits, "SELECT kind, child_id, caregiver_id FROM contacts WHERE occurred_at >= $1"
                                    " AND occurred_at < $2", begin, finish)
    duties = await _fetch(visits, """SELECT status, (fulfilled_at AT TIME ZONE 'Asia/Shanghai')::date <= due_on
                                            AS in_time, due_on FROM duties
                                     WHERE due_on BETWEEN $1 AND $2 AND status <> 'cancelled'""", start, end)
    concerns = await _fetch(visits, "SELECT mandatory_report FROM concerns WHERE raised_at >= $1 AND raised_at < $2",
                            begin, finish)
    kinds = [row["kind"] for row in contacts]
    return {
        "children_registered": len(registered), "expected": expected,
        "registration_rate": round(len(registered) / expected, 4),
        "closed": sum(row["status"] == "closed" for row in children),
        "pairs_formed": sum(start <= row["started_on"] <= end for row in pairings),
        "children_paired": len(paired), "coverage": round(len(paired) / len(registered), 4),
        "home_visits": kinds.count("home_visit"), "talks": kinds.count("talk"),
        "parent_calls": kinds.count("parent_call") + kinds.count("parent_video"), "contacts_total": len(kinds),
        "children_contacted": len({row["child_id"] for row in contacts}),
        "caregivers_taking_part": len({row["caregiver_id"] for row in contacts}),
        "duties_due": len(duties),
        "duties_on_time": sum(row["status"] == "fulfilled" and row["in_time"] for row in duties),
        "duties_overdue": sum(row["status"] == "open" and row["due_on"] < end for row in duties),
        "concerns_raised": len(concerns), "mandatory_reports": sum(row["mandatory_report"] for row in concerns),
    }


async def test_the_summary_matches_the_owning_services_tables(stack) -> None:
    registry, pairing, visits, reports = (stack[n] for n in ("registry", "pairing", "visits", "reports"))
    async with httpx.AsyncClient(timeout=30) as client:
        child_ids = []
        for index, name in enumerate(NAMES):
            township = TOWNSHIP if index < 3 else TOWNSHIP_2
            created = await client.post(f"{registry.base_url}/v1/children", headers=staff(), json={
                "name": name, "gender": "female" if index % 2 else "male", "birth_date": f"201{index}-03-09",
                "jurisdiction": _place(township), "school_id": "school-1" if index < 2 else "school-2",
                "categories": ["left_behind"]})
            assert created.status_code == 201, created.text
            child_ids.append(created.json()["id"])
        closed = await client.post(f"{registry.base_url}/v1/children/{child_ids[4]}/close", headers=staff(),
                                   json={"reason": "parents_returned", "version": 1})
        assert closed.status_code == 200, closed.text
        for code, expected in ((TOWNSHIP, 4), (TOWNSHIP_2, 3)):
            response = await client.put(f"{registry.base_url}/v1/expected-counts", headers=staff(), json={
                "kind": "township", "code": code, "township_code": code, "expected": expected})
            assert response.status_code == 200, response.text

        caregivers = []
        for township in (TOWNSHIP, TOWNSHIP_2):
            enrolled = await client.post(f"{pairing.base_url}/v1/caregivers", headers=staff(), json={
                "kind": "teacher", "capacity": 3, "jurisdiction": _place(township)})
            assert enrolled.status_code == 201, enrolled.text
            caregivers.append(enrolled.json()["id"])
        for child, caregiver in ((0, 0), (1, 0), (3, 1)):
            await _until_created(client, f"{pairing.base_url}/v1/pairings", {
                "child_id": child_ids[child], "caregiver_id": caregivers[caregiver]}, staff(), "a pairing")

        now = from_env().now()
        for child, caregiver, kind, extra in ((0, 0, "home_visit", {}), (1, 0, "parent_call", {}),
                                              (3, 1, "talk", {"concerns": [{"category": "suspected_abuse",
                                                                            "severity": "urgent"}]})):
            token = bearer(roles=["caregiver"], jurisdiction=COUNTY, caregiver_id=caregivers[caregiver],
                           subject=f"caregiver-{caregiver}")
            await _until_created(client, f"{visits.base_url}/v1/contacts", {
                "id": str(uuid.uuid4()), "child_id": child_ids[child], "caregiver_id": caregivers[caregiver],
                "kind": kind, "occurred_at": (now - timedelta(minutes=5)).isoformat(), **extra}, token, "a contact")

        today = from_env().today()
        start = today - timedelta(days=7)
        params = {"from": start.isoformat(), "to": today.isoformat()}

        async def matching() -> Any:
            response = await client.get(f"{reports.base_url}/v1/summary", params=params, headers=staff())
            if response.status_code != 200:
                return None
            figures = {figure["key"]: figure["value"] for figure in response.json()["figures"]}
            wanted = await _recomputed(stack, start, today)
            got = {key: figures[key] for key in wanted}
            return response.json() | {"got": got} if got == wanted else None

        body = await wait_for(matching, timeout=90, interval=0.5, what="the reports' figures to match the owners'")
        got = body["got"]
    # Places named from the registry's division register, read over HTTP with reports' own token.
    assert body["scope"]["county_name"] == "上城区"
    assert {t["township_code"]: t["township_name"] for t in body["by_township"]}[TOWNSHIP_2] == "湖滨街道"
    assert got["children_registered"] == 4 and got["closed"] == 1 and got["expected"] == 7
    assert got["pairs_formed"] == 3 and got["contacts_total"] == 3 and got["mandatory_reports"] == 1


async def _support_facts(stack: dict) -> tuple[set, set]:
    """Pairing's support records and the reports' support facts, field by field."""
    owned = await _fetch(stack["pairing"].database_url,
                         "SELECT id, child_id, kind, amount_fen, given_on, township_code, flagged_duplicate_of"
                         " FROM support_records")
    read = await _fetch(stack["reports"].database_url,
                        "SELECT support_id, child_id, kind, amount_fen, given_on, township_code, duplicate_of"
                        " FROM support_given")
    return {tuple(row.values()) for row in owned}, {tuple(row.values()) for row in read}


async def test_aid_given_in_pairing_is_in_the_reports_support_ledger_by_name(stack) -> None:
    """SupportRecorded from pairing's outbox over Kafka into the reports' read model: the same
    records as pairing holds, and the support ledger lists them with the child's name."""
    registry, pairing, reports = (stack[n] for n in ("registry", "pairing", "reports"))
    today = from_env().today()
    async with httpx.AsyncClient(timeout=30) as client:
        created = await client.post(f"{registry.base_url}/v1/children", headers=staff(), json={
            "name": "孙小慧", "gender": "female", "birth_date": "2014-06-01", "jurisdiction": _place(TOWNSHIP_2),
            "categories": ["left_behind"]})
        assert created.status_code == 201, created.text
        child = created.json()["id"]
        aid = {"kind": "financial_aid", "amount_fen": 80000, "fund": "春蕾计划", "given_on": today.isoformat(),
               "given_by": "县妇联"}
        first = await _until_created(client, f"{pairing.base_url}/v1/children/{child}/support", aid, staff(),
                                     "aid recorded for a child pairing knows")
        second = (await client.post(f"{pairing.base_url}/v1/children/{child}/support", headers=staff(), json={
            **aid, "amount_fen": 20000})).json()
        assert second["duplicate_of"] == first["id"]

        async def arrived() -> Any:
            owned, read = await _support_facts(stack)
            return (owned, read) if owned and owned == read else None

        owned, read = await wait_for(arrived, timeout=60, interval=0.5, what="pairing's support records in reports")
        assert len(read) == 2

        response = await client.get(f"{reports.base_url}/v1/ledgers/support", headers=staff(), params={
            "from": today.isoformat(), "to": today.isoformat(), "scope": TOWNSHIP_2})
        assert response.status_code == 200, response.text
        rows = [(i["child"], i["activity_type"], i["amount"], i["repeated"]) for i in response.json()["items"]]
        assert sorted(rows) == [("孙小慧", "资金资助", "200.00", "是"), ("孙小慧", "资金资助", "800.00", "否")]
        assert "春蕾" not in response.text and "妇联" not in response.text


async def test_a_rebuild_from_offset_0_gives_the_same_figures_and_the_worker_goes_on(stack) -> None:
    """`shouhu reports rebuild` while the worker runs: new tables from offset 0, switched in
    with the same figures; the worker's next event lands in the new tables."""
    registry, reports = stack["registry"], stack["reports"]
    today = from_env().today()
    params = {"from": (today - timedelta(days=7)).isoformat(), "to": today.isoformat()}
    async with httpx.AsyncClient(timeout=30) as client:
        async def summary() -> dict:
            response = await client.get(f"{reports.base_url}/v1/summary", params=params, headers=staff())
            assert response.status_code == 200, response.text
            return response.json()

        before = await summary()
        [table_before] = await _fetch(reports.database_url, "SELECT 'child_versions'::regclass::oid AS oid")
        done = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shared.cli", "reports", "rebuild", env=reports.env, cwd=REPO,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(done.communicate(), 120)
        assert done.returncode == 0, err.decode(errors="replace")[-3000:]
        outcome = json.loads(out.decode().strip().splitlines()[-1])
        assert outcome["applied"] >= 15 and outcome["skipped"] == 0, outcome
        assert outcome["helpers"] == ("fork" if (os.cpu_count() or 1) > 1 else "none")  # the CLI has no other thread
        [table_after] = await _fetch(reports.database_url, "SELECT 'child_versions'::regclass::oid AS oid")
        assert table_after["oid"] != table_before["oid"]
        assert await summary() == before
        owned, read = await _support_facts(stack)
        assert read == owned  # the support facts rebuilt too

        created = await client.post(f"{registry.base_url}/v1/children", headers=staff(), json={
            "name": "赵小雨", "gender": "female", "birth_date": "2015-05-01", "jurisdiction": _place(TOWNSHIP),
            "categories": ["left_behind"]})
        assert created.status_code == 201, created.text

        async def counted() -> Any:
            figures = {f["key"]: f["value"] for f in (await summary())["figures"]}
            registered = {f["key"]: f["value"] for f in before["figures"]}["children_registered"]
            return figures["children_registered"] == registered + 1 or None

        await wait_for(counted, timeout=60, interval=0.5, what="the worker's next event in the rebuilt tables")

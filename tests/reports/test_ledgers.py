"""The ledgers (台账): rows from the reports' read model, names read when the ledger is made
from the real registry, pairing and visits apps (their own databases, in-process) with the
reports service's own token (children, caregivers, schools, the county's activity types),
audited by the owners and by reports; phones masked unless the asker may read them and says
why; XLSX and PDF that open again (and in LibreOffice); refusals."""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from openpyxl import load_workbook
from pypdf import PdfReader

from services.pairing.app import create_app as create_pairing_app
from services.pairing.config import PairingSettings
from services.pairing.entry import ENTRY as PAIRING
from services.reports.ledgers import LEDGERS, Names, compose
from services.reports.owner_names import HttpOwnerNames
from services.reports.place_names import RegistryPlaceNames
from services.visits.app import create_app as create_visits_app
from services.visits.config import VisitsSettings
from shared.contracts import (
    ActivityHeld, ChildRegistered, ConcernRaised, Jurisdiction, PairingCreated, SupportRecorded, VisitLogged,
)
from shared.service_auth import ServiceTokenProvider
from tests.registry.helpers import Registry, full_child_body, running_registry, seed_schools, staff_headers
from tests.reports.harness import COUNTY, TOWNSHIP_A, TOWNSHIP_B, Harness, at, place, staff, start_harness
from tests.support.auth import VILLAGE, bearer
from tests.support.databases import create_migrated_database, drop_database

MARCH = {"from": "2024-03-01", "to": "2024-03-31"}
CHINA = ZoneInfo("Asia/Shanghai")
VISITS_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "visits" / "migrations"
CLEAR = "家访前核对联系方式"


@asynccontextmanager
async def running_pairing(infra: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    url = await create_migrated_database(infra, "pairing", PAIRING.migrations_dir)
    app = create_pairing_app(PairingSettings(database_url=url, kafka_bootstrap_servers=infra.kafka_bootstrap))
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                         timeout=60) as client:
                yield client, app
    finally:
        await drop_database(infra, url)


@asynccontextmanager
async def running_visits(infra: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    url = await create_migrated_database(infra, "visits", VISITS_MIGRATIONS)
    app = create_visits_app(VisitsSettings(database_url=url, kafka_bootstrap_servers=infra.kafka_bootstrap))
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                         timeout=60) as client:
                yield client, app
    finally:
        await drop_database(infra, url)


@dataclass
class County:
    reports: Harness
    registry: Registry
    ids: dict[str, uuid.UUID]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def county(infra) -> AsyncIterator[County]:
    async with running_registry(infra) as registry, running_pairing(infra) as (pairing, pairing_app), \
            running_visits(infra) as (visits, visits_app):
        mounts = {"http://registry": httpx.ASGITransport(app=registry.app),
                  "http://pairing": httpx.ASGITransport(app=pairing_app),
                  "http://visits": httpx.ASGITransport(app=visits_app)}
        async with httpx.AsyncClient(mounts=mounts, timeout=60) as client:
            tokens = ServiceTokenProvider(registry.settings.auth, service_name="reports", jurisdiction=COUNTY)
            owners = HttpOwnerNames(client, tokens, registry_base_url="http://registry",
                                    pairing_base_url="http://pairing", visits_base_url="http://visits")
            places = RegistryPlaceNames(client, tokens, registry_base_url="http://registry")
            async for reports in start_harness(infra, place_names=places, owner_names=owners, county_name=""):
                ids = await _tell(reports, registry, pairing)
                await _tell_support(reports, visits, pairing, ids)
                yield County(reports, registry, ids)


async def _tell(reports: Harness, registry: Registry, pairing: httpx.AsyncClient) -> dict[str, uuid.UUID]:
    """In the registry: 王小明 (school 清波小学, with his grandmother's and mother's phones) and
    李小红 in township A; in pairing: teacher 张老师. The events reports read: both registered
    in January, 王小明 paired with 张老师 on 1 March, a home visit on 5 March that raised a
    mandatory-report concern, an activity on 8 March; a child of township B (not named)."""
    await seed_schools(registry, COUNTY, [{"id": "school-1", "name": "清波小学", "township_code": TOWNSHIP_A}])
    ids: dict[str, uuid.UUID] = {}
    for key, name in (("xiaoming", "王小明"), ("xiaohong", "李小红")):
        body = full_child_body(name=name)  # in TOWNSHIP_A's 清波门社区
        created = await registry.client.post("/v1/children", json=body, headers=staff_headers())
        assert created.status_code == 201, created.text
        ids[key] = uuid.UUID(created.json()["id"])
    enrolled = await pairing.post("/v1/caregivers", headers=bearer(roles=["county_staff"], jurisdiction=COUNTY),
                                  json={"kind": "teacher", "name": "张老师", "school_id": "school-1",
                                        "jurisdiction": {"county_code": COUNTY, "township_code": TOWNSHIP_A}})
    assert enrolled.status_code == 201, enrolled.text
    ids["teacher"] = uuid.UUID(enrolled.json()["id"])
    ids["b_child"] = uuid.uuid4()

    a = Jurisdiction(county_code=COUNTY, township_code=TOWNSHIP_A, village_code=VILLAGE)
    for key in ("xiaoming", "xiaohong"):
        await reports.deliver(ChildRegistered(child_id=ids[key], jurisdiction=a, school_id="school-1",
                                              priority=key == "xiaoming", left_behind_type="both_parents_away",
                                              record_version=1), at(date(2024, 1, 10)))
    await reports.deliver(ChildRegistered(child_id=ids["b_child"], jurisdiction=place(TOWNSHIP_B), record_version=1),
                          at(date(2024, 1, 10)))
    await reports.deliver(PairingCreated(child_id=ids["xiaoming"], pairing_id=uuid.uuid4(), caregiver_id=ids["teacher"],
                                         jurisdiction=a, school_id="school-1", priority=True,
                                         started_on=date(2024, 3, 1)), at(date(2024, 3, 1)))
    contact = uuid.uuid4()
    await reports.deliver(VisitLogged(child_id=ids["xiaoming"], contact_id=contact, caregiver_id=ids["teacher"],
                                      kind="home_visit", occurred_at=at(date(2024, 3, 5)), jurisdiction=a,
                                      concern_raised=True), at(date(2024, 3, 5), 20))
    await reports.deliver(ConcernRaised(child_id=ids["xiaoming"], concern_id=uuid.uuid4(), contact_id=contact,
                                        severity="urgent", mandatory_report=True, raised_at=at(date(2024, 3, 5)),
                                        jurisdiction=a), at(date(2024, 3, 5)))
    await reports.deliver(ActivityHeld(activity_id=uuid.uuid4(), activity_type="festival_care",
                                       held_on=date(2024, 3, 8), jurisdiction=a, school_id="school-1",
                                       registered_children=30, family_members=12), at(date(2024, 3, 8)))
    return ids


async def _tell_support(reports: Harness, visits: httpx.AsyncClient, pairing: httpx.AsyncClient,
                        ids: dict[str, uuid.UUID]) -> None:
    """The county calls festival_care 中秋关爱慰问 in its vocabulary (visits). Pairing's support
    records: 王小明 ¥600 on 12 March and ¥300 from the same fund on 20 March (flagged); a
    gift in kind of unknown value to 李小红 on 8 March (after that day's activity); ¥100 to
    township B's child on 15 March; 李小红 ¥200 in February; 王小明 ¥50 given on 25 March but
    recorded only on 2 April. The ¥600 was given under pairing's aid programme 春蕾助学 (its
    name is pairing's, read when the ledger is made)."""
    programme = await pairing.post("/v1/aid-programmes", headers=bearer(roles=["county_staff"], jurisdiction=COUNTY),
                                   json={"name": "春蕾助学", "fund": "春蕾计划", "kind": "financial_aid",
                                         "amount_fen": 60000, "budget_fen": 6000000})
    assert programme.status_code == 201, programme.text
    ids["programme"] = uuid.UUID(programme.json()["id"])
    renamed = await visits.put(f"/v1/admin/activity-types/{COUNTY}/festival_care", json={"name": "中秋关爱慰问"},
                               headers=bearer(roles=["county_staff"], jurisdiction=COUNTY))
    assert renamed.status_code in (200, 201), renamed.text
    a = Jurisdiction(county_code=COUNTY, township_code=TOWNSHIP_A, village_code=VILLAGE)
    for key, child, kind, fen, day, recorded, duplicate_of, where in (
            ("aid_1", "xiaoming", "financial_aid", 60000, date(2024, 3, 12), date(2024, 3, 12), None, a),
            ("aid_2", "xiaoming", "financial_aid", 30000, date(2024, 3, 20), date(2024, 3, 20), "aid_1", a),
            ("gift", "xiaohong", "in_kind", 0, date(2024, 3, 8), date(2024, 3, 9), None, a),
            ("aid_b", "b_child", "financial_aid", 10000, date(2024, 3, 15), date(2024, 3, 15), None,
             place(TOWNSHIP_B)),
            ("aid_feb", "xiaohong", "financial_aid", 20000, date(2024, 2, 20), date(2024, 2, 20), None, a),
            ("aid_late", "xiaoming", "financial_aid", 5000, date(2024, 3, 25), date(2024, 4, 2), None, a)):
        ids[key] = uuid.uuid4()
        await reports.deliver(SupportRecorded(
            child_id=ids[child], support_id=ids[key], kind=kind, amount_fen=fen, given_on=day, jurisdiction=where,
            school_id="school-1" if where == a else None,
            duplicate_of=ids[duplicate_of] if duplicate_of else None,
            programme_id=ids["programme"] if key == "aid_1" else None), at(recorded))


async def _json(reports: Harness, kind: str, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    response = await reports.ledger(kind, headers, **{**MARCH, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_childrens_ledger_names_each_child_with_the_contact_card_masked(county: County) -> None:
    body = await _json(county.reports, "children", scope=TOWNSHIP_A)
    assert body["title"].endswith("留守儿童一人一档台账") and body["next_cursor"] is None
    by_name = {item["name"]: item for item in body["items"]}
    assert sorted(by_name) == ["李小红", "王小明"]
    xiaoming = by_name["王小明"]
    assert xiaoming["child_id"] == str(county.ids["xiaoming"])
    assert xiaoming["gender"] == "男" and xiaoming["birth_date"] == "2016-03-09"
    assert xiaoming["school"] == "清波小学" and xiaoming["grade"] == "三年级 2班"
    assert xiaoming["priority"] == "是" and xiaoming["left_behind_type"] == "父母均外出"
    assert xiaoming["caregivers"] == "张老师" and by_name["李小红"]["caregivers"] is None
    assert "王奶奶" in xiaoming["guardians"] and "138****8000" in xiaoming["guardians"]
    assert "李某" in xiaoming["parents"] and "广东省东莞市" in xiaoming["parents"]
    assert "139****5678" in xiaoming["parents"] and "13912345678" not in str(body)
    # Names read by reports with its own token: the registry's audit names the service; the
    # reports' own names the staff member who asked.
    owner_audit = await county.registry.fetch(
        "SELECT subject, fields, purpose FROM read_audit WHERE action = 'ledger_entries' ORDER BY id")
    assert owner_audit and owner_audit[-1]["subject"] == "service:reports"
    assert "guardians.phone" not in owner_audit[-1]["fields"]
    own = await county.reports.fetch("SELECT subject, record_ids, fields FROM read_audit WHERE action = 'ledger_children'")
    assert own[-1]["subject"] == f"county_staff-{COUNTY}"
    assert set(own[-1]["record_ids"]) == {county.ids["xiaoming"], county.ids["xiaohong"]}


async def test_phones_in_clear_only_for_who_may_read_them_and_says_why(county: County) -> None:
    # view_sensitive without a purpose: masked still.
    permitted = bearer(roles=["county_staff"], jurisdiction=COUNTY, subject="officer-7", permissions=["view_sensitive"])
    masked = await _json(county.reports, "children", permitted, scope=TOWNSHIP_A)
    assert "13800138000" not in str(masked)
    # A purpose without view_sensitive: masked.
    unpermitted = {**staff(), "X-Purpose": quote(CLEAR)}
    assert "13800138000" not in str(await _json(county.reports, "children", unpermitted, scope=TOWNSHIP_A))
    clear = await _json(county.reports, "children", {**permitted, "X-Purpose": quote(CLEAR)}, scope=TOWNSHIP_A)
    xiaoming = next(item for item in clear["items"] if item["name"] == "王小明")
    assert "13800138000" in xiaoming["guardians"] and "13912345678" in xiaoming["parents"]
    audit = await county.registry.fetch(
        "SELECT subject, fields, purpose FROM read_audit WHERE action = 'ledger_entries' ORDER BY id DESC LIMIT 1")
    assert audit[0]["subject"] == "service:reports" and "guardians.phone" in audit[0]["fields"]
    assert audit[0]["purpose"] == f"{CLEAR}（officer-7）"
    own = await county.reports.fetch(
        "SELECT fields, purpose FROM read_audit WHERE subject = 'officer-7' ORDER BY id DESC LIMIT 1")
    assert own[0]["purpose"] == CLEAR and "guardians.phone" in own[0]["fields"]


async def test_pairings_contacts_concerns_and_activities(county: County) -> None:
    pairings = (await _json(county.reports, "pairings"))["items"]
    assert [(p["child"], p["caregiver"], p["role"], p["started_on"], p["school"]) for p in pairings] == [
        ("王小明", "张老师", "主帮扶人", "2024-03-01", "清波小学")]
    contacts = (await _json(county.reports, "contacts"))["items"]
    assert [(c["occurred_at"], c["kind"], c["child"], c["caregiver"], c["concern_raised"]) for c in contacts] == [
        ("2024-03-05 10:00", "家访", "王小明", "张老师", "是")]
    concerns = (await _json(county.reports, "concerns"))["items"]
    assert [(c["child"], c["severity"], c["mandatory_report"], c["acknowledged_at"]) for c in concerns] == [
        ("王小明", "紧急", "是", None)]
    support = (await _json(county.reports, "support"))["items"]
    assert [(s["held_on"], s["activity_type"], s["registered_children"], s["family_members"]) for s in support
            if "activity_id" in s] == [("2024-03-08", "中秋关爱慰问", 30, 12)]
    # February knew none of March's facts; as of 4 March the visit was not yet there.
    assert (await _json(county.reports, "pairings", **{"from": "2024-02-01", "to": "2024-02-29"}))["items"] == []
    assert (await _json(county.reports, "contacts", as_of="2024-03-04"))["items"] == []


async def test_pages_follow_the_one_list_shape(county: County) -> None:
    first = await _json(county.reports, "children", limit=1)
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = await _json(county.reports, "children", limit=1, cursor=first["next_cursor"])
    third = await _json(county.reports, "children", limit=1, cursor=second["next_cursor"])
    assert third["next_cursor"] is None
    # The county's third child lives in township B, which the registry holds no record of: no name.
    names = [page["items"][0]["name"] for page in (first, second, third)]
    assert sorted(names, key=str) == sorted(["王小明", "李小红", None], key=str)


async def test_the_workbook_and_the_pdf_carry_the_ledger(county: County, tmp_path: Path) -> None:
    response = await county.reports.ledger("children", **MARCH, scope=TOWNSHIP_A, format="xlsx")
    assert response.status_code == 200, response.text
    assert "ledger-children-" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value.endswith("留守儿童一人一档台账") and "2024-03-01" in sheet["A2"].value
    assert [cell.value for cell in sheet[4]][:3] == ["序号", "姓名", "性别"]
    assert sorted(row[1] for row in sheet.iter_rows(min_row=5, values_only=True)) == ["李小红", "王小明"]

    pdf = await county.reports.ledger("contacts", **MARCH, format="pdf")
    assert pdf.status_code == 200, pdf.text
    reader = PdfReader(io.BytesIO(pdf.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "家访谈心亲情电话记录" in text and "王小明" in text and "张老师" in text
    fonts = {font["/BaseFont"] for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert any("Noto-Sans-CJK" in name for name in fonts), fonts

    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (Debian's libreoffice-calc-nogui) is needed"
    source = tmp_path / "ledger.xlsx"
    source.write_bytes(response.content)
    result = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                             "--convert-to", "pdf", "--outdir", str(tmp_path / "out"), str(source)],
                            capture_output=True, timeout=180)
    assert result.returncode == 0 and (tmp_path / "out" / "ledger.pdf").read_bytes().startswith(b"%PDF"), \
        result.stderr.decode(errors="replace")


async def test_who_may_ask_and_what_is_refused(county: County) -> None:
    reports = county.reports
    caregiver = bearer(roles=["caregiver"], jurisdiction=COUNTY, caregiver_id=str(county.ids["teacher"]))
    assert (await reports.ledger("children", caregiver, **MARCH)).status_code == 403
    township_b = staff(TOWNSHIP_B, "township_staff")
    assert (await reports.ledger("children", township_b, **MARCH, scope=TOWNSHIP_A)).status_code == 403
    own = await _json(reports, "children", township_b)
    assert [item["child_id"] for item in own["items"]] == [str(county.ids["b_child"])]
    # A school's staff: their school's children only, another school refused.
    school = bearer(roles=["school_staff"], jurisdiction=COUNTY, school_id="school-2", subject="head-2")
    assert (await _json(reports, "children", school))["items"] == []
    assert (await reports.ledger("children", school, **MARCH, scope="school-1")).status_code == 403
    unknown = await reports.ledger("visitors", **MARCH)
    assert unknown.status_code == 422 and "kind" in unknown.text
    backwards = await reports.ledger("contacts", **{"from": "2024-03-31", "to": "2024-03-01"})
    assert backwards.status_code == 422 and "query.to" in backwards.text
    assert (await reports.ledger("contacts", **MARCH, format="docx")).status_code == 422


async def test_without_the_owners_no_ledger_is_printed_without_names(reports: Harness) -> None:
    await reports.deliver(ChildRegistered(child_id=uuid.uuid4(), jurisdiction=place(TOWNSHIP_A), record_version=1),
                          at(date(2024, 1, 10)))
    response = await reports.ledger("children", **MARCH)
    assert response.status_code == 503 and "王" not in response.text
    # Nothing to name: the ledger is printed (empty).
    assert (await reports.ledger("contacts", **MARCH)).json()["items"] == []


async def test_the_support_ledger_lists_aid_given_with_the_childs_name(county: County) -> None:
    """Activities and pairing's support records in one list by day; the aid rows name the
    child (registry, when the ledger is made) and print the value in yuan; the type of an
    activity as the county named it (visits) and its school by name (registry)."""
    body = await _json(county.reports, "support")
    assert body["title"].endswith("关爱慰问资助台账")
    assert "child" in [c["key"] for c in body["columns"]] and "amount" in [c["key"] for c in body["columns"]]
    rows = [(i["held_on"], i["activity_type"], i["child"], i["amount"], i["school"], i["repeated"])
            for i in body["items"]]
    assert rows == [
        ("2024-03-08", "中秋关爱慰问", None, None, "清波小学", None),
        ("2024-03-08", "物资慰问", "李小红", None, "清波小学", "否"),
        ("2024-03-12", "资金资助", "王小明", "600.00", "清波小学", "否"),
        ("2024-03-15", "资金资助", None, "100.00", None, "否"),  # township B: no record in the registry
        ("2024-03-20", "资金资助", "王小明", "300.00", "清波小学", "是")]
    assert [i["programme"] for i in body["items"]] == [None, None, "春蕾助学", None, None]
    ids = county.ids
    assert [i.get("support_id") for i in body["items"]][1:] == [str(ids[k]) for k in ("gift", "aid_1", "aid_b", "aid_2")]
    assert body["items"][2]["child_id"] == str(ids["xiaoming"]) and "child_id" not in body["items"][0]
    # Named for this ledger: audited by reports under the staff member who asked.
    own = await county.reports.fetch(
        "SELECT record_ids FROM read_audit WHERE action = 'ledger_support' ORDER BY id DESC LIMIT 1")
    assert set(own[0]["record_ids"]) == {ids["xiaoming"], ids["xiaohong"]}

    # Period and as-of: February's gift in February only; ¥50 given on 25 March, recorded on
    # 2 April, is in March's ledger as of 5 April but not as of 31 March; as of 15 March,
    # 20 March's not yet.
    february = await _json(county.reports, "support", **{"from": "2024-02-01", "to": "2024-02-29"})
    assert [(i["held_on"], i["child"], i["amount"]) for i in february["items"]] == [("2024-02-20", "李小红", "200.00")]
    march = [i.get("support_id") for i in body["items"]]
    assert str(ids["aid_late"]) not in march
    later = await _json(county.reports, "support", as_of="2024-04-05")
    assert str(ids["aid_late"]) in [i.get("support_id") for i in later["items"]]
    mid = await _json(county.reports, "support", as_of="2024-03-15")
    assert str(ids["aid_2"]) not in [i.get("support_id") for i in mid["items"]]
    assert str(ids["aid_1"]) in [i.get("support_id") for i in mid["items"]]

    # A township's ledger: its own aid only.
    township_b = await _json(county.reports, "support", scope=TOWNSHIP_B)
    assert [i.get("support_id") for i in township_b["items"]] == [str(ids["aid_b"])]


async def test_a_schools_ledger_is_headed_with_the_schools_name(county: County) -> None:
    body = await _json(county.reports, "support", scope="school-1")
    assert "清波小学" in body["title"] and "school-1" not in body["title"], body["title"]
    assert {i["school"] for i in body["items"]} == {"清波小学"}
    assert str(county.ids["aid_b"]) not in [i.get("support_id") for i in body["items"]]
    children = await _json(county.reports, "children", scope="school-1")
    assert "清波小学" in children["title"] and "school-1" not in children["title"]


def test_without_the_countys_names_a_type_prints_its_default_name_or_its_code() -> None:
    rows = [{"entry": "activity", "entry_id": uuid.uuid4(), "on_day": date(2024, 3, 8), "activity_type": code,
             "child_id": None, "support_kind": None, "amount_fen": None, "duplicate_of": None,
             "township_code": TOWNSHIP_A, "village_code": None, "school_id": "school-9", "registered_children": 1,
             "other_children": 0, "family_members": 0, "others": 0} for code in ("festival_care", "kite_day")]
    items = compose(LEDGERS["support"], rows, Names({}, {}, {}), CHINA)  # type: ignore[arg-type]
    assert [(i["activity_type"], i["school"]) for i in items] == [("节日关爱", "school-9"), ("kite_day", "school-9")]
    named = compose(LEDGERS["support"], rows, Names({}, {}, {}, {"school-9": "湖滨小学"}, {"kite_day": "风筝节"}),
                    CHINA)  # type: ignore[arg-type]
    assert [(i["activity_type"], i["school"]) for i in named] == [("节日关爱", "湖滨小学"), ("风筝节", "湖滨小学")]

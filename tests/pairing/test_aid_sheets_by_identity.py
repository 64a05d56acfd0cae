"""A school's 书包发放名单 as counties really send it: 姓名 and 身份证号 (sometimes 学校, 班级),
not Shouhu's ids. Pairing asks the real registry (in-process, its own database) which child
each row is, in one audited call with pairing's own token, ids only; a row it cannot name —
a wrong check digit or region code, nobody, two children of one name and birthday — is a 422
naming the row and the column, and nothing is drafted. Also a GB18030 CSV, and a sheet
without an ID column (姓名 + 出生日期)."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any, AsyncIterator

import httpx
import openpyxl
import pytest
import pytest_asyncio

from services.pairing.config import PairingSettings
from services.pairing.registry_children import HttpChildResolver, RegistryUnavailable
from shared.contracts import ChildRegistered
from shared.service_auth import ServiceTokenProvider
from tests.pairing.harness import Harness, Place, staff, start_harness
from tests.registry.helpers import Registry, child_body, national_id, running_registry, staff_headers
from tests.support.auth import TOWNSHIP, VILLAGE

pytestmark = pytest.mark.clock

HERE = Place(TOWNSHIP, VILLAGE)   # 清波街道 / 清波门社区: real codes, as the registry checks them
OTHER_TOWNSHIP = "330102003000"   # 湖滨街道, the same county
CLERK = staff(TOWNSHIP, roles=("township_staff",))


class Switchable:
    """Pairing's real HTTP client of the registry, which a test can take away."""

    def __init__(self, inner: HttpChildResolver) -> None:
        self.inner = inner
        self.away = False

    async def resolve(self, items: list[dict[str, str]], *, jurisdiction: str) -> list[dict[str, Any]]:
        if self.away:
            raise RegistryUnavailable("ConnectError")
        return await self.inner.resolve(items, jurisdiction=jurisdiction)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def both(infra) -> AsyncIterator[tuple[Harness, Registry, Switchable]]:
    async with running_registry(infra) as registry:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=registry.app), base_url="http://registry")
        tokens = ServiceTokenProvider(PairingSettings().auth, service_name="pairing")
        resolver = Switchable(HttpChildResolver(client, tokens, registry_base_url="http://registry"))
        try:
            async for pairing in start_harness(infra, child_resolver=resolver):
                yield pairing, registry, resolver
        finally:
            await client.aclose()


async def _child(both: tuple[Harness, Registry, Switchable], *, name: str, gender: str, birth: date, with_id: bool = True,
                 township: str = TOWNSHIP) -> tuple[str, str | None]:
    """One child in the registry and, by its event, in pairing's projection."""
    pairing, registry, _ = both
    number = national_id(birth, gender) if with_id else None
    place = {"county_code": township[:6] + "000000", "township_code": township,
             "village_code": VILLAGE if township == TOWNSHIP else None}
    created = await registry.client.post("/v1/children", headers=staff_headers(), json=child_body(
        name=name, gender=gender, birth_date=birth.isoformat(), jurisdiction=place,
        **({"national_id": number} if number else {})))
    assert created.status_code == 201, created.text
    child_id = created.json()["id"]
    where = HERE if township == TOWNSHIP else Place(township, township[:9] + "001")
    await pairing.deliver(ChildRegistered(child_id=uuid.UUID(child_id), record_version=1, age_band="6-11",
                                          jurisdiction=where.jurisdiction(village=township == TOWNSHIP)))
    return child_id, number


def _xlsx(headers: list[str], rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["清波小学2026年书包发放名单"])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _programme(pairing: Harness) -> str:
    created = await pairing.client.post("/v1/aid-programmes", headers=CLERK, json={
        "name": "书包发放", "fund": "县慈善总会", "kind": "in_kind", "item": "书包", "amount_fen": 8000,
        "budget_fen": 100 * 8000, "jurisdiction": TOWNSHIP})
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def _upload(pairing: Harness, programme: str, content: bytes, name: str = "名单.xlsx") -> httpx.Response:
    return await pairing.client.post(
        f"/v1/aid-programmes/{programme}/lists/upload", headers=CLERK,
        params={"given_on": pairing.settings.clock.today().isoformat()},
        files={"file": (name, content, "application/octet-stream")})


def _faults(response: httpx.Response) -> list[tuple[int, str]]:
    assert response.status_code == 422, response.text
    return [(e["row"], e["column"]) for e in response.json()["errors"]]


async def test_a_school_sheet_by_national_id(both) -> None:
    pairing, registry, switch = both
    programme = await _programme(pairing)
    kids = [await _child(both, name=name, gender=gender, birth=birth) for name, gender, birth in (
        ("赵雨桐", "female", date(2015, 5, 6)), ("钱浩然", "male", date(2014, 11, 20)),
        ("阿依古丽·买买提", "female", date(2016, 2, 29)))]
    headers = ["序号", "学校", "班级", "姓名", "身份证号", "签名"]
    rows = [[n, "清波小学", "三(2)班", "某某", number.lower() if n == 2 else f" {number} ", ""]
            for n, (_, number) in enumerate(kids, 1)]

    # Faults first: a wrong check digit, an unknown (valid) ID, a child of another township,
    # an empty ID cell, and the same child twice. Each named by row and column; nothing drafted.
    first = kids[0][1]
    assert first is not None
    wrong_check = first[:17] + ("1" if first[17] == "0" else "0")
    _, elsewhere_id = await _child(both, name="李四", gender="male", birth=date(2015, 1, 1),
                                           township=OTHER_TOWNSHIP)
    bad = _xlsx(headers, [*rows[:2], [3, "", "", "某", wrong_check, ""],
                          [4, "", "", "某", national_id(date(2015, 5, 6), "male"), ""],
                          [5, "", "", "某", elsewhere_id, ""], [6, "", "", "某", "", ""],
                          [7, "", "", "某", rows[0][4], ""]])
    refused = await _upload(pairing, programme, bad)
    assert _faults(refused) == [(5, "身份证号"), (6, "身份证号"), (7, "身份证号"), (8, "身份证号"), (9, "身份证号")]
    reasons = [e["reason"] for e in refused.json()["errors"]]
    assert "校验码" in reasons[0] and "查无" in reasons[1] and "查无" in reasons[2] and "为空" in reasons[3]
    assert "第3行" in reasons[4]
    assert first not in refused.text and "赵雨桐" not in refused.text
    assert await pairing.fetchval("SELECT count(*) FROM aid_lists WHERE programme_id = $1", uuid.UUID(programme)) == 0

    # The good sheet: three rows, three children, in the sheet's order.
    upload = await _upload(pairing, programme, _xlsx(headers, rows))
    assert upload.status_code == 201, upload.text
    listed = (await pairing.client.get(f"/v1/aid-lists/{upload.json()['id']}/rows", headers=CLERK)).json()["items"]
    assert [(r["row_no"], r["child_id"]) for r in listed] == [(n, kid) for n, (kid, _) in zip((3, 4, 5), kids)]
    # One audited read per upload in the registry, under pairing's identity and the upload's request id.
    audited = await registry.fetch(
        "SELECT record_ids, fields, request_id FROM read_audit WHERE action = 'resolve_children' ORDER BY id")
    assert [sorted(map(str, a["record_ids"])) for a in audited][-1] == sorted(kid for kid, _ in kids)
    assert audited[-1]["request_id"] == upload.headers["x-request-id"] and audited[-1]["fields"] == ["national_id"]
    assert await registry.fetchval(
        "SELECT count(*) FROM read_audit WHERE action = 'resolve_children' AND subject <> 'service:pairing'") == 0
    # Nothing of the sheet's identities is kept by pairing: the list has ids and amounts.
    stored = str([dict(r) for r in await pairing.fetch("SELECT * FROM aid_list_rows")])
    assert all(number not in stored for _, number in kids if number)

    # The registry away: 503, nothing drafted; a sheet by 儿童编号 still works without it.
    switch.away = True
    try:
        away = await _upload(pairing, programme, _xlsx(headers, rows))
        assert away.status_code == 503 and away.json()["code"] == "registry_unavailable"
        by_id = await _upload(pairing, programme, _xlsx(["儿童编号", "姓名"], [[kids[0][0], "某"]]))
        assert by_id.status_code == 201, by_id.text
    finally:
        switch.away = False


async def test_by_name_and_birth_date_and_a_gb18030_csv(both) -> None:
    pairing, _, _ = both
    programme = await _programme(pairing)
    alone, _ = await _child(both, name="周晓琳", gender="female", birth=date(2016, 9, 1), with_id=False)
    for _ in range(2):  # two open records of one name and birthday in the township
        await _child(both, name="吴一凡", gender="male", birth=date(2015, 3, 3), with_id=False)
    headers = ["序号", "姓名", "出生日期", "班级"]

    ambiguous = _xlsx(headers, [[1, "周晓琳", date(2016, 9, 1), "一(1)班"], [2, "吴一凡", date(2015, 3, 3), ""],
                                [3, "周晓琳", "2016-13-01", ""], [4, "郑无名", "2016年9月1日", ""],
                                [5, "周晓琳", "", ""]])
    refused = await _upload(pairing, programme, ambiguous)
    assert _faults(refused) == [(4, "姓名"), (5, "出生日期"), (6, "姓名"), (7, "出生日期")]
    assert "多名儿童" in refused.json()["errors"][0]["reason"]

    ok = await _upload(pairing, programme, _xlsx(headers, [[1, "周晓琳", "2016年9月1日", "一(1)班"]]))
    assert ok.status_code == 201, ok.text
    rows = (await pairing.client.get(f"/v1/aid-lists/{ok.json()['id']}/rows", headers=CLERK)).json()["items"]
    assert [r["child_id"] for r in rows] == [alone]
    # The same as a "CSV UTF-8" from Excel (with its BOM), the date written with slashes.
    bom = "\ufeff序号,姓名,出生日期\r\n1,周晓琳,2016/9/1\r\n".encode("utf-8")
    from_csv = await _upload(pairing, programme, bom, name="名单.csv")
    assert from_csv.status_code == 201, from_csv.text
    rows = (await pairing.client.get(f"/v1/aid-lists/{from_csv.json()['id']}/rows", headers=CLERK)).json()["items"]
    assert [r["child_id"] for r in rows] == [alone]

    # A CSV saved by Excel on a Chinese Windows (GB18030), naming children by 身份证号.
    kid, number = await _child(both, name="冯子涵", gender="male", birth=date(2014, 6, 30))
    csv = f"序号,姓名,身份证号,金额（元）\r\n1,冯子涵,{number},60\r\n".encode("gb18030")
    upload = await _upload(pairing, programme, csv, name="名单.csv")
    assert upload.status_code == 201, upload.text
    assert (upload.json()["children"], upload.json()["amount_fen"]) == (1, 6000)
    rows = (await pairing.client.get(f"/v1/aid-lists/{upload.json()['id']}/rows", headers=CLERK)).json()["items"]
    assert [r["child_id"] for r in rows] == [kid]

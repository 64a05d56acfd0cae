"""Aid programmes (资助项目): a 书包 distribution to 150 children from one list, end to end
through the API; the once-per-term rule, the budget, sheets with faults, If-Match."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import openpyxl
import pytest

from services.pairing.domain_aid import check_budget, duplicate_rows, read_distribution_rows, term_of
from shared.rules import Refusal
from tests.pairing.harness import Place, staff

pytestmark = pytest.mark.clock


def _today(pairing: Any) -> date:
    return pairing.settings.clock.today()


def _sheet(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2026年秋季书包发放签收表"])
    sheet.append(["序号", "儿童编号", "姓名", "金额（元）", "收据号", "签名"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _programme(pairing: Any, place: Place, **overrides: Any) -> dict[str, Any]:
    body = {"name": "书包发放", "fund": "县慈善总会", "kind": "in_kind", "item": "书包", "amount_fen": 8000,
            "budget_fen": 150 * 8000, "jurisdiction": place.township, **overrides}
    created = await pairing.client.post("/v1/aid-programmes", json=body, headers=staff())
    assert created.status_code == 201, created.text
    return created.json()


def test_rules() -> None:
    assert term_of(date(2026, 9, 1)) == "2026-autumn" and term_of(date(2027, 1, 5)) == "2026-autumn"
    with pytest.raises(Refusal) as refused:
        check_budget(budget_fen=1000, spent_fen=600, wanted_fen=401)
    assert refused.value.extra == {"remaining_fen": 400, "wanted_fen": 401}
    check_budget(budget_fen=1000, spent_fen=600, wanted_fen=400)
    a, b = uuid.uuid4(), uuid.uuid4()
    assert [e["field"] for e in duplicate_rows([(3, a), (4, b), (5, a)], {b})] == ["row 4", "row 5"]
    rows, errors = read_distribution_rows([["title"], ["儿童编号", "金额（元）"], [str(a), "80.5"], ["x", ""],
                                           [str(b), "-1"], ["", ""]])
    assert [(r.row_no, r.amount_fen) for r in rows] == [(3, 8050)]
    assert [(e["row"], e["column"]) for e in errors] == [(4, "儿童编号"), (5, "金额")]
    # No column that names a child: the whole file is refused.
    assert read_distribution_rows([["姓名", "班级"], ["某某", "一班"]])[1][0]["field"] == "file"
    by_name, faults = read_distribution_rows([["姓名", "出生日期"], ["某某", "2016-03-09"], ["某某", ""]])
    assert [r.identity for r in by_name] == [{"name": "某某", "birth_date": "2016-03-09"}]
    assert [(e["row"], e["column"]) for e in faults] == [(3, "出生日期")]
    # A sheet with a 身份证号 column: an empty ID is a fault even when the name and birth date are there.
    with_ids, faults = read_distribution_rows([["姓名", "身份证号", "出生日期"], ["某某", "", "2016-03-09"]])
    assert with_ids == [] and [(e["row"], e["column"]) for e in faults] == [(2, "身份证号")]


async def test_150_school_bags_from_one_list(pairing) -> None:
    place, elsewhere = Place.fresh(), Place.fresh()
    children = [await pairing.child(place, school_id="S-1") for _ in range(150)]
    await pairing.child(elsewhere)  # another township: not in the cohort
    programme = await _programme(pairing, place, cohort={"school_ids": ["S-1"]})
    assert programme["remaining_fen"] == 1_200_000 and programme["given"] == 0
    day = _today(pairing).isoformat()

    draft = await pairing.client.post(f"/v1/aid-programmes/{programme['id']}/lists", json={"given_on": day},
                                      headers=staff())
    assert draft.status_code == 201, draft.text
    aid_list = draft.json()
    assert (aid_list["children"], aid_list["amount_fen"], aid_list["status"]) == (150, 1_200_000, "draft")
    assert aid_list["left_out"] == 0 and aid_list["period"] == term_of(_today(pairing))
    rows = (await pairing.client.get(f"/v1/aid-lists/{aid_list['id']}/rows", params={"limit": 200},
                                     headers=staff())).json()["items"]
    assert sorted(row["child_id"] for row in rows) == sorted(map(str, children))

    confirm_url = f"/v1/aid-lists/{aid_list['id']}/confirm"
    body = {"given_on": day, "receipt_no": "QS-2026-001", "handled_by": "王老师"}
    no_version = await pairing.client.post(confirm_url, json=body, headers=staff())
    assert no_version.status_code == 428
    headers = {**staff(), "If-Match": f'"{aid_list["version"]}"', "Idempotency-Key": str(uuid.uuid4())}
    confirmed = await pairing.client.post(confirm_url, json=body, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["receipt_no"] == "QS-2026-001"
    again = await pairing.client.post(confirm_url, json=body, headers=headers)
    assert again.status_code == 200 and again.json() == confirmed.json()

    records = await pairing.fetch("SELECT * FROM support_records WHERE programme_id = $1",
                                  uuid.UUID(programme["id"]))
    assert len(records) == 150 and {r["receipt_no"] for r in records} == {"QS-2026-001"}
    assert {r["item"] for r in records} == {"书包"} and sum(r["amount_fen"] for r in records) == 1_200_000
    events = [e for e in await pairing.outbox("SupportRecorded") if e.get("programme_id") == programme["id"]]
    # The programme's name (the county's title for it) is in each, never the item's or fund's wording.
    assert len(events) == 150 and {e["programme_name"] for e in events} == {"书包发放"}
    assert all("书包" not in str({**e, "programme_name": None}) and "慈善" not in str(e) for e in events)

    after = (await pairing.client.get(f"/v1/aid-programmes/{programme['id']}", headers=staff())).json()
    assert (after["spent_fen"], after["remaining_fen"], after["given"]) == (1_200_000, 0, 150)
    ledger = (await pairing.client.get("/v1/aid-ledger", params={"jurisdiction": place.township},
                                       headers=staff())).json()["items"]
    assert [(r["name"], r["children"], r["amount_fen"], r["distributions"]) for r in ledger] == [
        ("书包发放", 150, 1_200_000, 1)]

    # Once per term: nobody is left for a second cohort draft; a sheet naming a child is refused by row.
    second = await pairing.client.post(f"/v1/aid-programmes/{programme['id']}/lists", json={"given_on": day},
                                       headers=staff())
    assert second.status_code == 422
    sheet = _sheet([[1, str(children[0]), "某某", "", ""], [2, "not-an-id", "", "", ""]])
    refused = await pairing.client.post(
        f"/v1/aid-programmes/{programme['id']}/lists/upload", params={"given_on": day}, headers=staff(),
        files={"file": ("list.xlsx", sheet, "application/octet-stream")})
    assert refused.status_code == 422
    assert [(e["field"], e["row"], e["column"]) for e in refused.json()["errors"]] == [
        ("body.row 3, 儿童编号", 3, "儿童编号"), ("body.row 4, 儿童编号", 4, "儿童编号")]


async def test_upload_budget_and_if_match(pairing) -> None:
    place = Place.fresh()
    children = [await pairing.child(place) for _ in range(3)]
    programme = await _programme(pairing, place, kind="financial_aid", item=None, amount_fen=50000,
                                 budget_fen=120000, fund="春蕾计划", name="春蕾助学")
    day = _today(pairing).isoformat()
    sheet = _sheet([[1, str(children[0]), "", "", "R-1"], [2, str(children[1]), "", "700", "R-2"]])
    upload = await pairing.client.post(
        f"/v1/aid-programmes/{programme['id']}/lists/upload", params={"given_on": day}, headers=staff(),
        files={"file": ("list.xlsx", sheet, "application/octet-stream")})
    assert upload.status_code == 201, upload.text
    assert (upload.json()["children"], upload.json()["amount_fen"]) == (2, 120000)
    twice = _sheet([[1, str(children[2]), "", "", ""], [2, str(children[2]), "", "", ""]])
    doubled = await pairing.client.post(
        f"/v1/aid-programmes/{programme['id']}/lists/upload", params={"given_on": day}, headers=staff(),
        files={"file": ("l.xlsx", twice, "application/octet-stream")})
    assert doubled.status_code == 422 and [(e["row"], e["column"]) for e in doubled.json()["errors"]] == [(4, "儿童编号")]

    # The budget is lowered below the list's total: the list is refused whole.
    url = f"/v1/aid-programmes/{programme['id']}"
    current = await pairing.client.get(url, headers=staff())
    lowered = await pairing.client.patch(url, json={"budget_fen": 100000},
                                         headers={**staff(), "If-Match": current.headers["ETag"]})
    assert lowered.status_code == 200, lowered.text
    assert lowered.json()["version"] == 2 and lowered.json()["remaining_fen"] == 100000
    stale = await pairing.client.patch(url, json={"name": "x"}, headers={**staff(), "If-Match": '"1"'})
    assert stale.status_code == 412
    over = await pairing.client.post(f"/v1/aid-lists/{upload.json()['id']}/confirm",
                                     json={"given_on": day, "receipt_no": "QS-9"},
                                     headers={**staff(), "If-Match": f'"{upload.json()["version"]}"'})
    assert over.status_code == 409 and over.json()["code"] == "over_budget"
    assert await pairing.fetchval("SELECT count(*) FROM support_records WHERE programme_id = $1",
                                  uuid.UUID(programme["id"])) == 0
    # Reviewing: take the 700-yuan row off, then it fits; each row keeps its own receipt number.
    removed = await pairing.client.delete(f"/v1/aid-lists/{upload.json()['id']}/rows/{children[1]}",
                                          headers=staff())
    assert removed.status_code == 204
    ok = await pairing.client.post(f"/v1/aid-lists/{upload.json()['id']}/confirm",
                                   json={"given_on": day, "receipt_no": "QS-9"},
                                   headers={**staff(), "If-Match": f'"{upload.json()["version"] + 1}"'})
    assert ok.status_code == 200, ok.text
    receipts = await pairing.fetch("SELECT receipt_no FROM support_records WHERE programme_id = $1",
                                   uuid.UUID(programme["id"]))
    assert [r["receipt_no"] for r in receipts] == ["R-1"]
    history = await pairing.client.get(f"/v1/history/aid_programme/{programme['id']}", headers=staff())
    assert history.status_code == 200 and len(history.json()["items"]) >= 2
    names = await pairing.client.post("/v1/aid-programmes/names", json={"ids": [programme["id"]]},
                                      headers=staff())
    assert names.json() == {"names": {programme["id"]: "春蕾助学"}}


async def test_other_township_and_school_staff(pairing) -> None:
    place, other = Place.fresh(), Place.fresh()
    programme = await _programme(pairing, place)
    hidden = await pairing.client.get(f"/v1/aid-programmes/{programme['id']}", headers=staff(other.township,
                                      roles=("township_staff",)))
    assert hidden.status_code == 404
    outside = await pairing.client.post("/v1/aid-programmes", headers=staff(place.township, roles=("township_staff",)),
                                        json={"name": "x", "fund": "y", "kind": "in_kind", "item": "书",
                                              "amount_fen": 0, "budget_fen": 0, "jurisdiction": other.township})
    assert outside.status_code == 422

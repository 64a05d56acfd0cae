"""Support records (帮扶): a second gift from one fund in one period is flagged, not
refused; totals by fund and township. And the period rule itself."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.pairing.domain import support_period_key
from services.pairing.entry import ENTRY
from shared.contracts import SupportRecorded, decode
from shared.terms import term_of
from tests.pairing.harness import COUNTY, Place, staff

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock


def test_support_periods() -> None:
    """The terms of shared/terms.py (ui.md): autumn 1 Sep – 31 Jan, spring 1 Feb – 31 Jul,
    August (the summer holiday) with the spring term."""
    assert support_period_key(date(2026, 3, 1), "term") == "2026-spring"
    assert support_period_key(date(2026, 8, 31), "term") == "2026-spring"
    assert support_period_key(date(2026, 9, 1), "term") == "2026-autumn"
    assert support_period_key(date(2027, 1, 31), "term") == "2026-autumn"
    assert support_period_key(date(2027, 2, 1), "term") == "2027-spring"
    assert support_period_key(date(2027, 2, 10), "term") == "2027-spring"
    assert support_period_key(date(2026, 12, 31), "term") == "2026-autumn"
    autumn, spring = term_of(date(2026, 10, 1)), term_of(date(2027, 7, 31))
    assert (autumn.first_day, autumn.last_day, autumn.label) == (date(2026, 9, 1), date(2027, 1, 31), "2026年秋季学期")
    assert (spring.first_day, spring.last_day, spring.label) == (date(2027, 2, 1), date(2027, 7, 31), "2027年春季学期")
    assert support_period_key(date(2026, 6, 30), "half_year") == "2026H1"
    assert support_period_key(date(2026, 7, 1), "half_year") == "2026H2"


async def test_second_gift_from_the_same_fund_in_a_term_is_flagged_and_totals_add_up(pairing) -> None:
    place = Place.fresh()
    child, other_child = await pairing.child(place), await pairing.child(place)
    url = f"/v1/children/{child}/support"
    aid = {"kind": "financial_aid", "amount_fen": 60000, "fund": "春蕾计划", "given_on": "2025-09-15",
           "given_by": "县妇联"}
    first = await pairing.client.post(url, json=aid, headers=staff())
    assert first.status_code == 201, first.text
    assert first.json()["flagged"] is False and first.json()["period"] == "2025-autumn"
    second = await pairing.client.post(url, json={**aid, "given_on": "2026-01-10"}, headers=staff())
    assert second.status_code == 201
    assert second.json()["flagged"] is True and second.json()["duplicate_of"] == first.json()["id"]
    other_fund = await pairing.client.post(url, headers=staff(), json={
        "kind": "in_kind", "item": "书包", "amount_fen": 8000, "fund": "爱心企业", "given_on": "2026-01-10"})
    assert other_fund.json()["flagged"] is False
    next_term = await pairing.client.post(url, json={**aid, "given_on": "2026-03-02"}, headers=staff())
    assert next_term.json()["flagged"] is False
    await pairing.client.post(f"/v1/children/{other_child}/support", json=aid, headers=staff())

    stored = await pairing.fetchval("SELECT given_by_enc FROM support_records WHERE id = $1",
                                    uuid.UUID(first.json()["id"]))
    assert "妇联" not in stored
    flagged = (await pairing.client.get("/v1/support/flagged", params={"jurisdiction": place.township},
                                        headers=staff())).json()["items"]
    assert [f["id"] for f in flagged] == [second.json()["id"]]

    totals = (await pairing.client.get("/v1/support/totals", params={"jurisdiction": place.township},
                                       headers=staff())).json()
    assert totals["total"]["amount_fen"] == 4 * 60000 + 8000 and totals["total"]["records"] == 5
    assert totals["total"]["children"] == 2 and totals["total"]["flagged"] == 1
    by_fund = {row["fund"]: row["amount_fen"] for row in totals["by_fund"]}
    assert by_fund == {"春蕾计划": 240000, "爱心企业": 8000}
    assert totals["by_township"] == [{"township_code": place.township, **totals["total"]}]
    in_term = (await pairing.client.get("/v1/support/totals", headers=staff(), params={
        "jurisdiction": place.township, "from": "2026-03-01", "to": "2026-09-01"})).json()
    assert in_term["total"]["amount_fen"] == 60000


async def test_bad_support_input_is_422_and_unknown_child_404(pairing) -> None:
    place = Place.fresh()
    child = await pairing.child(place)
    no_amount = await pairing.client.post(f"/v1/children/{child}/support", headers=staff(), json={
        "kind": "financial_aid", "fund": "x", "given_on": "2026-01-01"})
    assert no_amount.status_code == 422
    no_item = await pairing.client.post(f"/v1/children/{child}/support", headers=staff(), json={
        "kind": "in_kind", "fund": "x", "given_on": "2026-01-01"})
    assert no_item.status_code == 422
    unknown = await pairing.client.post(f"/v1/children/{uuid.uuid4()}/support", headers=staff(), json={
        "kind": "in_kind", "item": "书", "fund": "x", "given_on": "2026-01-01"})
    assert unknown.status_code == 404
    assert await pairing.fetchval("SELECT count(*) FROM support_records WHERE child_id = $1", child) == 0



async def test_each_support_record_is_published_without_its_wording_or_giver(pairing) -> None:
    """SupportRecorded goes through the outbox with the record (reports' aid ledger): kind,
    value, day, place, school and the duplicate flag; never the fund, the item or who gave it."""
    place = Place.fresh()
    child = await pairing.child(place, school_id="school-support-1")
    url = f"/v1/children/{child}/support"
    aid = {"kind": "financial_aid", "amount_fen": 50000, "fund": "春蕾计划", "given_on": "2025-09-15",
           "given_by": "县妇联"}
    first = (await pairing.client.post(url, json=aid, headers=staff())).json()
    second = (await pairing.client.post(url, json={**aid, "given_on": "2025-10-01"}, headers=staff())).json()
    gift = (await pairing.client.post(url, headers=staff(), json={
        "kind": "in_kind", "item": "冬衣", "fund": "爱心企业", "given_on": "2025-12-20"})).json()

    events = [e for e in await pairing.outbox("SupportRecorded") if e["child_id"] == str(child)]
    assert [e["support_id"] for e in events] == [first["id"], second["id"], gift["id"]]
    assert events[0] == {"child_id": str(child), "support_id": first["id"], "kind": "financial_aid",
                         "amount_fen": 50000, "given_on": "2025-09-15", "duplicate_of": None,
                         "jurisdiction": place.body(), "school_id": "school-support-1", "programme_id": None,
                         "programme_name": None}
    assert events[1]["duplicate_of"] == first["id"]
    assert events[2]["kind"] == "in_kind" and events[2]["amount_fen"] == 0
    text = str(events)
    assert all(word not in text for word in ("春蕾", "爱心", "冬衣", "妇联", "fund", "item", "given_by"))

    # A refused record publishes nothing (the event is written in the record's transaction).
    before = len(await pairing.outbox("SupportRecorded"))
    refused = await pairing.client.post(f"/v1/children/{uuid.uuid4()}/support", headers=staff(), json=aid)
    assert refused.status_code == 404
    assert len(await pairing.outbox("SupportRecorded")) == before


async def test_records_made_before_the_event_existed_are_announced_once(pairing) -> None:
    """Migration 0130 puts a SupportRecorded in the outbox for each earlier record (as the
    relay sends it: headers and payload), dated when the record was made; run again, nothing."""
    place = Place.fresh()
    child = await pairing.child(place, school_id="school-earlier")
    earlier, repeat = uuid.uuid4(), uuid.uuid4()
    made = datetime(2025, 10, 9, 2, 30, 15, 123456, tzinfo=timezone.utc)
    async with pairing.pool.acquire() as conn:
        for record_id, duplicate_of, kind, fen, at in ((earlier, None, "financial_aid", 40000, made),
                                                       (repeat, earlier, "in_kind", 0, made + timedelta(hours=1))):
            # As the code before the event wrote them: the record, no outbox row.
            await conn.execute(
                """INSERT INTO support_records (id, child_id, county_code, township_code, village_code, kind,
                                                amount_fen, item, fund, given_on, period_key, flagged_duplicate_of,
                                                created_by, created_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, '书包', '春蕾计划', '2025-10-08', '2025-autumn', $8,
                           'staff-1', $9)""",
                record_id, child, COUNTY, place.township, place.village, kind, fen, duplicate_of, at)
        migration = (Path(ENTRY.migrations_dir) / "0130_announce_earlier_support.sql").read_text("utf-8")
        await conn.execute(migration)
        await conn.execute(migration)
        rows = await conn.fetch("""SELECT message_key, topic, headers::text AS headers, payload::text AS payload
                                     FROM outbox WHERE event_type = 'cn.shouhu.SupportRecorded.v1'
                                      AND payload->>'child_id' = $1 ORDER BY id""", str(child))
    assert len(rows) == 2
    envelopes = [decode([(k, v.encode()) for k, v in json.loads(row["headers"]).items()], row["message_key"].encode(),
                        row["payload"].encode()) for row in rows]
    assert [type(e.data) for e in envelopes] == [SupportRecorded, SupportRecorded]
    assert rows[0]["topic"] == SupportRecorded.topic and rows[0]["message_key"] == str(child)
    first, second = (e.data for e in envelopes)
    assert envelopes[0].time == made and envelopes[0].source == SupportRecorded.source
    assert (first.support_id, first.kind, first.amount_fen, first.given_on, first.school_id, first.duplicate_of) == (
        earlier, "financial_aid", 40000, date(2025, 10, 8), "school-earlier", None)
    assert first.jurisdiction == place.jurisdiction()
    assert (second.support_id, second.kind, second.duplicate_of) == (repeat, "in_kind", earlier)
    assert all(word not in row["payload"] for row in rows for word in ("书包", "春蕾", "staff-1"))


async def test_february_records_move_to_the_spring_term_unless_the_programme_was_had_there(pairing) -> None:
    """Migration 0165: February's stored keys move from the autumn term to the spring term; a
    programme's February record whose child already had the programme in that spring term
    stays (the unique index), and so does its list; half-year keys and other months stay."""
    place = Place.fresh()
    child, other = await pairing.child(place), await pairing.child(place)
    async with pairing.pool.acquire() as conn:
        programme = uuid.uuid4()
        await conn.execute(
            """INSERT INTO aid_programmes (id, county_code, scope_code, scope_prefix, name, fund, kind, amount_fen,
                                           budget_fen, created_by)
               VALUES ($1, $2, $3, $4, '生活补助', '春蕾计划', 'financial_aid', 100, 100000, 'staff-1')""",
            programme, COUNTY, place.township, place.township[:9])
        lists = {name: uuid.uuid4() for name in ("feb", "feb_kept", "draft", "march")}
        for name, day, status in (("feb", "2026-02-10", "confirmed"), ("feb_kept", "2026-02-11", "confirmed"),
                                  ("draft", "2026-02-20", "draft"), ("march", "2026-03-05", "confirmed")):
            await conn.execute(
                """INSERT INTO aid_lists (id, programme_id, period_key, given_on, source, status, created_by,
                                          confirmed_at)
                   VALUES ($1, $2, $3, $4::text::date, 'upload', $5, 'staff-1',
                           CASE WHEN $5 = 'confirmed' THEN now() END)""",
                lists[name], programme, "2026-spring" if name == "march" else "2025-autumn", day, status)
        records = {}
        for name, who, day, key, of, list_name in (
                ("feb_gift", child, "2026-02-03", "2025-autumn", None, None),
                ("half_year", child, "2026-02-04", "2026H1", None, None),
                ("january", child, "2026-01-20", "2025-autumn", None, None),
                ("feb_aid", child, "2026-02-10", "2025-autumn", programme, "feb"),
                ("march_aid", other, "2026-03-05", "2026-spring", programme, "march"),
                ("feb_aid_taken", other, "2026-02-11", "2025-autumn", programme, "feb_kept")):
            records[name] = uuid.uuid4()
            await conn.execute(
                """INSERT INTO support_records (id, child_id, county_code, township_code, village_code, kind,
                                                amount_fen, fund, given_on, period_key, created_by, programme_id,
                                                list_id)
                   VALUES ($1, $2, $3, $4, $5, 'financial_aid', 100, '春蕾计划', $6::text::date, $7, 'staff-1',
                           $8, $9)""",
                records[name], who, COUNTY, place.township, place.village, day, key, of,
                lists[list_name] if list_name else None)
        notices: list[str] = []

        def listen(_conn: object, message: object) -> None:
            notices.append(str(getattr(message, "message", "")))
        conn.add_log_listener(listen)
        migration = (Path(ENTRY.migrations_dir) / "0165_february_in_the_spring_term.sql").read_text("utf-8")
        try:
            await conn.execute(migration)
            await conn.execute(migration)  # run again: nothing more moves
        finally:
            conn.remove_log_listener(listen)
        keys = {r["id"]: r["period_key"] for r in await conn.fetch(
            "SELECT id, period_key FROM support_records WHERE id = ANY($1::uuid[])", list(records.values()))}
        list_keys = {r["id"]: r["period_key"] for r in await conn.fetch(
            "SELECT id, period_key FROM aid_lists WHERE programme_id = $1", programme)}
    assert {name: keys[record] for name, record in records.items()} == {
        "feb_gift": "2026-spring", "half_year": "2026H1", "january": "2025-autumn", "feb_aid": "2026-spring",
        "march_aid": "2026-spring", "feb_aid_taken": "2025-autumn"}
    assert {name: list_keys[list_id] for name, list_id in lists.items()} == {
        "feb": "2026-spring", "feb_kept": "2025-autumn", "draft": "2026-spring", "march": "2026-spring"}
    assert notices and "1 aid record(s) and 1 aid list(s)" in notices[-1]

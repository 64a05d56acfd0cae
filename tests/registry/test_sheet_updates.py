"""Updates by sheet on real PostgreSQL: a re-uploaded sheet's rows are matched by national
ID; the same child with new values becomes proposed changes (old → new, masked per role)
that township staff confirm all or some; another child's ID is a conflict, never
"existing"; a change to a record edited since the upload is stale."""

from __future__ import annotations

from datetime import date

import pytest

from tests.registry import sheet_files
from tests.registry.helpers import birth_year, national_id, staff_headers
from tests.support.auth import TOWNSHIP

pytestmark = pytest.mark.clock

TOWNSHIP_STAFF = staff_headers(TOWNSHIP, role="township_staff", subject="township-1")


async def _import(registry, rows) -> dict:
    accepted = await registry.client.post("/v1/imports", headers=staff_headers(role="school_staff"),
                                          files={"file": ("s.xlsx", sheet_files.xlsx(rows), "application/octet-stream")})
    assert accepted.status_code == 202, accepted.text
    while await registry.runner.run_once():
        pass
    return (await registry.client.get(f"/v1/imports/{accepted.json()['id']}", headers=staff_headers())).json()


def _people() -> dict:
    year = birth_year(10)
    return {name: (national_id(date(year, 3, day), "male", sequence=40 + day), date(year, 3, day))
            for day, name in ((1, "甲一"), (2, "乙二"), (3, "丙三"), (4, "丁四"))}


def _row(people, who, **values):
    number, born = people[who]
    name = who
    base = dict(name=name, national_id=number, birth_date=born.isoformat(), gender="男", grade="三年级",
                guardian_name=f"{name[0]}奶奶", guardian_relation="祖母", guardian_phone="13800138000",
                guardian_health="良好")
    base.update(values)
    return sheet_files.row(**base)


async def test_a_changed_sheet_proposes_reviewed_updates(registry) -> None:
    people = _people()
    first = await _import(registry, [_row(people, n) for n in ("甲一", "乙二", "丙三")])
    assert first["rows_imported"] == 3

    again = [_row(people, "甲一", grade="四年级", guardian_phone="13700137000", guardian_health=""),
             _row(people, "乙二"),
             _row(people, "丙三", name="丙叁"),            # another child's ID: a conflict
             _row(people, "丁四")]
    job = await _import(registry, again)
    assert (job["rows_imported"], job["rows_existing"], job["rows_changed"], job["rows_conflicting"]) == (1, 1, 1, 1)
    conflicts = (await registry.client.get(f"/v1/imports/{job['id']}/conflicts", headers=staff_headers())).json()
    assert [(c["row"], c["column"]) for c in conflicts["items"]] == [(4, "national_id")]
    assert conflicts["items"][0]["reason"].startswith("该身份证号已登记给另一名儿童")
    existing = (await registry.client.get(f"/v1/imports/{job['id']}/existing", headers=staff_headers())).json()
    assert [e["row"] for e in existing["items"]] == [3]

    url = f"/v1/imports/{job['id']}/changes"
    masked = (await registry.client.get(url, headers=TOWNSHIP_STAFF)).json()
    assert masked["total"] == 1 and masked["masked"] is True and masked["next_cursor"] is None
    proposal = masked["items"][0]
    assert (proposal["row"], proposal["name"], proposal["status"]) == (2, "甲一", "proposed")
    shown = {c["field"]: (c["old"], c["new"]) for c in proposal["changes"]}
    assert shown == {"grade": ("三年级", "四年级"), "guardians.phone": ("138****8000", "137****7000")}
    assert "13700137000" not in str(masked)
    clear = (await registry.client.get(url, headers=staff_headers(sensitive=True, purpose="review"))).json()
    assert {c["field"]: c["new"] for c in clear["items"][0]["changes"]}["guardians.phone"] == "+8613700137000"
    assert await registry.fetchval("SELECT count(*) FROM read_audit WHERE action = 'import_changes'") == 1

    school = await registry.client.post(f"{url}/apply", json={}, headers=staff_headers(role="school_staff"))
    assert school.status_code == 403
    confirmed = await registry.client.post(f"{url}/apply", json={"rows": [2]}, headers=TOWNSHIP_STAFF)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"applied": [2], "stale": [], "refused": []}
    record = (await registry.client.get(f"/v1/children/{proposal['child_id']}",
                                        headers=staff_headers(sensitive=True, purpose="check"))).json()
    assert record["grade"] == "四年级" and record["version"] == 2
    assert record["guardians"][0]["phone"] == "+8613700137000"
    assert record["guardians"][0]["health"] == "良好", "a blank cell changes nothing"
    events = await registry.fetch("SELECT event_type FROM outbox WHERE message_key = $1 ORDER BY id",
                                  proposal["child_id"])
    assert [e["event_type"].split(".")[2] for e in events] == ["ChildRegistered", "ChildUpdated"]
    twice = await registry.client.post(f"{url}/apply", json={}, headers=TOWNSHIP_STAFF)
    assert twice.json() == {"applied": [], "stale": [], "refused": []}, "applied once"


async def test_a_change_to_a_record_edited_since_the_upload_is_stale(registry) -> None:
    people = {"戊五": (national_id(date(birth_year(9), 5, 5), "male", sequence=77), date(birth_year(9), 5, 5))}
    await _import(registry, [_row(people, "戊五")])
    job = await _import(registry, [_row(people, "戊五", class_name="3班")])
    assert job["rows_changed"] == 1
    url = f"/v1/imports/{job['id']}/changes"
    proposal = (await registry.client.get(url, headers=TOWNSHIP_STAFF)).json()["items"][0]
    edited = await registry.client.patch(f"/v1/children/{proposal['child_id']}", json={"version": 1, "grade": "五年级"},
                                         headers=staff_headers())
    assert edited.status_code == 200
    confirmed = await registry.client.post(f"{url}/apply", json={}, headers=TOWNSHIP_STAFF)
    assert confirmed.json() == {"applied": [], "stale": [2], "refused": []}
    listed = (await registry.client.get(url, headers=TOWNSHIP_STAFF)).json()["items"][0]
    assert listed["status"] == "stale" and listed["reason"].startswith("档案在上传后已被修改")

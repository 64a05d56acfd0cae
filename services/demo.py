"""Demo data for `make up`: a county loaded through the public APIs exactly as clients would,
so it exercises every event flow: children in the registry, caregivers and pairings in
pairing, a month of contacts in visits, and an overdue scan whose notices reach notify.

The county is 关岭布依族苗族自治县 (520424) unless another is named: any county of the
division register the registry ships (services/registry/data), its townships, villages and
schools taken from that register, so an operator can seed two deployments with two
counties and rehearse merging them (docs/operations.md, "Moving a county into a province
deployment").

Idempotent: children, caregivers and pairings carry fixed Idempotency-Keys and contacts
fixed ids, so running it twice changes nothing.

    python -m shared.cli seed [--county CODE] [--children N] [--dev-tokens FILE]
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx

from shared import clock as clocks
from shared.auth import issue_dev_token
from shared.settings import AuthSettings

from services.demo_county import CHOSEN, DEFAULT_COUNTY, SCHOOLS_PER_TOWNSHIP, DemoCounty, demo_county

# A real county's places (the registry checks every code against its division register):
# by default 关岭布依族苗族自治县, Guizhou, five of its townships and some of their villages
# (services/demo_county.py). The children, schools and people are invented.
COUNTY = DEFAULT_COUNTY
VILLAGES = CHOSEN[COUNTY]
TOWNSHIPS = list(VILLAGES)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501 (CJK counts double)
GIVEN = ["小明", "小红", "思雨", "子涵", "浩然", "欣怡", "宇轩", "梓萱", "俊杰", "雨桐", "一诺", "佳怡", "天佑", "诗涵",
         "晨曦", "家豪", "静怡", "博文", "可馨", "志强"]
CONTACT_KINDS = ["home_visit", "talk", "parent_call", "letter", "parent_video"]
# A teacher takes three children (篇3, 篇12); a few too few teachers leaves some children
# waiting, as in the reports (帮扶覆盖面 92%, 篇19), so the unpaired queue has work in it.
TEACHER_CAPACITY = 3
COVERAGE = 0.92
REGISTRATION_RATES = (0.98, 0.95, 0.91, 1.0, 0.87)  # 建档率 of the demo townships
_NAMESPACE = uuid.UUID("0d3e5c4a-8f31-4b8e-a7a2-5e8f6a1c2b90")


@dataclass(frozen=True)
class Urls:
    registry: str
    pairing: str
    visits: str


def _school_of(index: int, place: DemoCounty) -> tuple[str, str]:
    township = place.townships[index % len(place.townships)]
    return township, place.school_id(township, (index // len(place.townships)) % SCHOOLS_PER_TOWNSHIP + 1)


WORK_PLACES = ("浙江省宁波市", "广东省东莞市", "江苏省苏州市", "福建省晋江市", "贵州省贵阳市")


def _child_body(index: int, rng: random.Random, place: DemoCounty | None = None,
                numbers: set[str] | None = None) -> dict:
    """A child of the county; with a national ID number when `numbers` (those given so far)
    is passed and the county's region code was in use in the birth year."""
    place = place or demo_county()
    township, school = _school_of(index, place)
    villages = place.villages[township]
    village = villages[(index // len(place.townships)) % len(villages)]
    born = date(2010, 1, 1) + timedelta(days=rng.randrange(0, 365 * 10))
    surname = rng.choice(SURNAMES)
    name, gender = surname + rng.choice(GIVEN), rng.choice(["male", "female"])
    number = place.national_id(born, gender, numbers) if numbers is not None else None
    return {
        "name": name,
        "gender": gender,
        "birth_date": born.isoformat(),
        **({"national_id": number} if number else {}),
        "jurisdiction": {"county_code": place.code, "township_code": township, "village_code": village},
        "school_id": school,
        "categories": ["left_behind"] if rng.random() < 0.85 else ["migrant"],
        "priority": rng.random() < 0.08,
        # The contact card (联系卡): the grandmother at home and the father away at work, with
        # the numbers the paired teacher calls. Invented, like the names.
        "guardians": [{"relation": "grandparent", "relation_word": "祖母", "name": rng.choice(SURNAMES) + "秀英",
                       "age": rng.randrange(55, 80), "phone": f"139{rng.randrange(10**8):08d}"}],
        "parents": [{"relation": "father", "name": surname + "建军", "work_place": rng.choice(WORK_PLACES),
                     "phone": f"138{rng.randrange(10**8):08d}"}],
    }


async def _until_known(call: Callable[[], Awaitable[httpx.Response]], *, waiting: tuple[int, ...],
                       attempts: int = 150) -> httpx.Response:
    """Repeats `call` while it answers one of `waiting` (the service has not yet heard of the
    child through Kafka), for at most `attempts` × 0.2 s."""
    for _ in range(attempts):
        response = await call()
        if response.status_code not in waiting:
            return response
        await asyncio.sleep(0.2)
    return response


async def seed(urls: Urls, *, children: int = 2000, concurrency: int = 8, today: date | None = None,
               county: str = COUNTY, dev_tokens_file: Path | None = None) -> dict:
    """Loads the county (6 or 12 digits; demo_county.UnknownCounty if the division register has
    no such county); with `dev_tokens_file`, writes its people's development tokens there."""
    place = demo_county(county)
    # The same county every time; another county its own children, not the default's again.
    rng = random.Random(20261129 if place.default else f"20261129-{place.code}")
    key = f"demo-{place.prefix()}"  # Idempotency-Keys of their own: two counties may meet in one deployment
    numbers: set[str] = set()  # the national ID numbers given so far
    clock = clocks.from_env()  # the services' clock (SHOUHU_CLOCK_*, SHOUHU_COUNTY_TIMEZONE)
    today = today or clock.today()  # the county's calendar, as visits keeps it
    staff = issue_dev_token(AuthSettings(), subject="demo-loader", roles=["county_staff"], jurisdiction=place.code)
    # The scan covers every county: the national scope starts it.
    admin = issue_dev_token(AuthSettings(), subject="demo-admin", roles=["admin"], jurisdiction="000000000000")
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=60, headers={"Authorization": f"Bearer {staff}"}) as client:

        async def post(url: str, body: dict, key: str | None = None, waiting: tuple[int, ...] = ()) -> Any:
            headers = {"Idempotency-Key": key} if key else {}
            async with limit:
                response = await _until_known(lambda: client.post(url, json=body, headers=headers), waiting=waiting)
            if response.status_code >= 400:
                raise RuntimeError(f"POST {url} answered {response.status_code}: {response.text[:300]}")
            return response.json()

        # The county's school register first: the registry accepts only its schools.
        for school_body in place.schools():
            response = await client.post(f"{urls.registry}/v1/schools", json=school_body)
            if response.status_code >= 400 and response.status_code != 409:  # 409: seeded before
                raise RuntimeError(f"POST schools answered {response.status_code}: {response.text[:300]}")

        bodies = [_child_body(i, rng, place, numbers) for i in range(children)]
        child_ids = [c["id"] for c in await asyncio.gather(*(
            post(f"{urls.registry}/v1/children", body, f"{key}child-{i}") for i, body in enumerate(bodies)))]

        # Expected counts from the survey, a little above what was registered, so the
        # dashboard's 建档率 differs by township as in the reports (PUT: idempotent).
        per_township: dict[str, int] = {}
        for body in bodies:
            township = body["jurisdiction"]["township_code"]
            per_township[township] = per_township.get(township, 0) + 1
        for township, registered in sorted(per_township.items()):
            expected = round(registered / REGISTRATION_RATES[place.townships.index(township) % len(REGISTRATION_RATES)])
            response = await client.put(f"{urls.registry}/v1/expected-counts", json={
                "kind": "township", "code": township, "township_code": township, "expected": expected})
            if response.status_code >= 400:
                raise RuntimeError(f"PUT expected-counts answered {response.status_code}: {response.text[:300]}")

        # Teachers per school, enough for about COVERAGE of its children.
        by_school: dict[str, list[int]] = {}
        for index in range(children):
            by_school.setdefault(_school_of(index, place)[1], []).append(index)
        enrolments: list[tuple[str, int, dict]] = []
        for school, members in sorted(by_school.items()):
            township = _school_of(members[0], place)[0]
            for n in range(max(1, int(len(members) * COVERAGE) // TEACHER_CAPACITY)):
                enrolments.append((school, n, {
                    "kind": "teacher", "school_id": school, "capacity": TEACHER_CAPACITY,
                    "jurisdiction": {"county_code": place.code, "township_code": township},
                    "name": rng.choice(SURNAMES) + "老师", "contact": {"phone": f"1390000{len(enrolments):04d}"}}))
        caregivers = await asyncio.gather(*(
            post(f"{urls.pairing}/v1/caregivers", body, f"{key}caregiver-{school}-{n}")
            for school, n, body in enrolments))
        teachers: dict[str, list[str]] = {}
        for (school, _n, _body), caregiver in zip(enrolments, caregivers):
            teachers.setdefault(school, []).append(caregiver["id"])

        # Pairings started at the beginning of last month, so last month's duties are due.
        started = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        pairs: list[tuple[int, str]] = []
        for school, members in by_school.items():
            slots = [t for t in teachers.get(school, []) for _ in range(TEACHER_CAPACITY)]
            pairs += list(zip(members, slots))
        await asyncio.gather(*(
            post(f"{urls.pairing}/v1/pairings",
                 {"child_id": child_ids[i], "caregiver_id": caregiver, "started_on": started.isoformat()},
                 f"{key}pairing-{i}", waiting=(404,))
            for i, caregiver in pairs))

        # Last month: most children had their home visit, talk and call with the parents;
        # about one in seven did not, and the scan finds those duties overdue. This month:
        # a few contacts each, the rest still due.
        now = clock.now()
        last_month_days = (today.replace(day=1) - started).days
        contacts = []
        for i, caregiver in pairs:
            dated = []
            if rng.random() < 0.86:
                for kind in ("home_visit", "talk", "parent_call"):
                    day = started + timedelta(days=rng.randrange(last_month_days))
                    dated.append((kind, datetime(day.year, day.month, day.day, 2, tzinfo=timezone.utc)))
            for n in range(rng.choice([0, 1, 2, 3])):
                dated.append((CONTACT_KINDS[(i + n) % len(CONTACT_KINDS)], now - timedelta(days=1 + 6 * n, hours=i % 9)))
            for n, (kind, occurred_at) in enumerate(dated):
                contacts.append({
                    "id": str(uuid.uuid5(_NAMESPACE, f"contact-{child_ids[i]}-{n}")),
                    "child_id": child_ids[i], "caregiver_id": caregiver, "kind": kind,
                    "occurred_at": occurred_at.isoformat(),
                })
        await asyncio.gather(*(
            post(f"{urls.visits}/v1/contacts", contact, waiting=(404, 403)) for contact in contacts))

    # The scan needs visits to have every pairing: wait until pairing's outbox is empty and
    # visits has consumed everything (bounded).
    async with httpx.AsyncClient(timeout=10) as probe:
        for _ in range(300):
            pairing_ready = (await probe.get(f"{urls.pairing}/readyz")).json()
            visits_ready = (await probe.get(f"{urls.visits}/readyz")).json()
            if pairing_ready.get("outbox_pending") == 0 and visits_ready.get("consumer_lag") == 0:
                break
            await asyncio.sleep(0.2)
    async with httpx.AsyncClient(timeout=120, headers={"Authorization": f"Bearer {admin}"}) as client:
        scan = await client.post(f"{urls.visits}/v1/admin/scans", json={"as_of": today.isoformat()})
    if dev_tokens_file is not None:
        first_school = place.school_id(place.townships[0], 1)
        write_dev_tokens(dev_tokens_file, place, teachers[first_school][0] if teachers.get(first_school) else None)
    return {
        "county": place.code, "national_ids": sum("national_id" in body for body in bodies),
        "children": len(child_ids), "caregivers": len(caregivers), "pairings": len(pairs),
        "unpaired": len(child_ids) - len(pairs), "contacts": len(contacts),
        "scan": scan.json() if scan.status_code == 200 else f"scan answered {scan.status_code}",
    }


def dev_tokens(place: DemoCounty, teacher_id: str | None) -> dict:
    """The county's people with development tokens (8 hours), as the console's development
    sign-in reads them from dev-tokens.json."""
    people = []
    for person in place.people(teacher_id):
        token = issue_dev_token(AuthSettings(), subject=f"demo-{place.prefix()}{person['key']}", roles=person["roles"],
                                jurisdiction=person["jurisdiction"], permissions=person.get("permissions"),
                                caregiver_id=person.get("caregiver_id"),
                                school_id=person["school_id"] if person["key"] == "principal" else None)
        people.append({"key": person["key"], "name": person["name"], "duty": person["duty"],
                       "school_id": person["school_id"], "token": token})
    return {"mode": "development", "county": place.code, "people": people}


def write_dev_tokens(path: Path, place: DemoCounty, teacher_id: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(json.dumps(dev_tokens(place, teacher_id), ensure_ascii=False), encoding="utf-8")
    staged.replace(path)

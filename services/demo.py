"""Demo data for `make up`: a fictional county, loaded through the public APIs exactly as
a client would, so it exercises the whole event flow. Idempotent: children carry fixed
Idempotency-Keys and contacts fixed ids, so running it twice changes nothing.

    python -m shared.cli seed [--children N]
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, datetime, timedelta, timezone

import httpx

from shared.auth import issue_dev_token
from shared.settings import AuthSettings

COUNTY = "330102000000"  # a fictional county; codes follow the 12-digit statistical format
TOWNSHIPS = [f"330102{n:03d}000" for n in range(1, 6)]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["小明", "小红", "思雨", "子涵", "浩然", "欣怡", "宇轩", "梓萱", "俊杰", "雨桐", "一诺", "佳怡", "天佑", "诗涵",
         "晨曦", "家豪", "静怡", "博文", "可馨", "志强"]
_DEMO_NAMESPACE = uuid.UUID("0d3e5c4a-8f31-4b8e-a7a2-5e8f6a1c2b90")
KINDS = ["home_visit", "talk", "parent_call", "parent_video", "letter"]


def _child_body(index: int, rng: random.Random) -> dict:
    township = TOWNSHIPS[index % len(TOWNSHIPS)]
    village = f"{township[:9]}{(index // len(TOWNSHIPS)) % 8 + 1:03d}"
    born = date(2010, 1, 1) + timedelta(days=rng.randrange(0, 365 * 10))
    return {
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
        "gender": rng.choice(["male", "female"]),
        "birth_date": born.isoformat(),
        "jurisdiction": {"county_code": COUNTY, "township_code": township, "village_code": village},
        "school_id": f"demo-school-{township[6:9]}-{index % 3 + 1}",
        "categories": ["left_behind"] if rng.random() < 0.8 else ["migrant"],
        "priority": rng.random() < 0.1,
    }


async def seed(registry_url: str, visits_url: str, *, children: int = 200, concurrency: int = 8) -> dict:
    rng = random.Random(20261129)  # the same county every time
    token = issue_dev_token(AuthSettings(), subject="demo-loader", roles=["county_staff"], jurisdiction=COUNTY)
    headers = {"Authorization": f"Bearer {token}"}
    bodies = [_child_body(i, rng) for i in range(children)]
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:

        async def register(index: int, body: dict) -> str:
            async with limit:
                response = await client.post(f"{registry_url}/v1/children", json=body,
                                             headers={"Idempotency-Key": f"demo-child-{index}"})
                response.raise_for_status()
                return response.json()["id"]

        child_ids = await asyncio.gather(*(register(i, body) for i, body in enumerate(bodies)))
        caregivers = [uuid.uuid5(_DEMO_NAMESPACE, f"caregiver-{n}") for n in range(max(1, children // 3))]
        now = datetime.now(timezone.utc)

        async def log_contacts(index: int, child_id: str) -> int:
            logged = 0
            async with limit:
                for n in range(index % 4):  # some children have no contact this month: overdue later
                    contact = {
                        "id": str(uuid.uuid5(_DEMO_NAMESPACE, f"contact-{child_id}-{n}")),
                        "child_id": child_id, "caregiver_id": str(caregivers[index % len(caregivers)]),
                        "kind": KINDS[(index + n) % len(KINDS)],
                        "occurred_at": (now - timedelta(days=3 + 9 * n, hours=index % 7)).isoformat(),
                    }
                    for _attempt in range(100):  # visits learns of the child through Kafka; wait for it
                        response = await client.post(f"{visits_url}/v1/contacts", json=contact)
                        if response.status_code != 404:
                            break
                        await asyncio.sleep(0.2)
                    response.raise_for_status()
                    logged += response.status_code == 201
            return logged

        contacts = sum(await asyncio.gather(*(log_contacts(i, c) for i, c in enumerate(child_ids))))
    return {"children": len(child_ids), "contacts_logged_now": contacts, "caregivers": len(caregivers)}

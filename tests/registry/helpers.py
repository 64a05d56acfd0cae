"""Test data for the registry: synthetic national ID numbers (GB 11643 check digit computed
here, never a real person's number), request bodies, tokens, an in-process app."""

from __future__ import annotations

import functools
import itertools
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, AsyncIterator

import asyncpg
import httpx

from services.registry.app import create_app
from services.registry.config import RegistrySettings
from services.registry.division_data import read_edition, shipped_editions
from services.registry.divisions import DivisionRegister
from services.registry.importer import ImportRunner
from shared.crypto import FieldCipher
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE, bearer
from tests.support.databases import create_migrated_database, drop_database

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "registry" / "migrations"
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_sequence = itertools.count(101)


def check_digit(first17: str) -> str:
    """GB 11643-1999: weighted sum mod 11 → '10X98765432'."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS))
    return "10X98765432"[total % 11]


def birth_year(age: int) -> int:
    """A birth year that makes a child `age` (or `age` - 1 before this year's birthday) on the
    county's today of the clock the services read, whatever the calendar says."""
    return RegistrySettings().clock.today().year - age


def national_id(birth: date, gender: str, *, region: str = "330102", sequence: int | None = None) -> str:
    """A valid, synthetic ID: the 17th digit is odd for a male, even for a female."""
    seq = (sequence if sequence is not None else next(_sequence)) % 100
    gender_digit = (seq % 5) * 2 + (1 if gender == "male" else 0)
    first17 = f"{region}{birth:%Y%m%d}{seq:02d}{gender_digit}"
    return first17 + check_digit(first17)


def child_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "王小明", "gender": "male", "birth_date": "2016-03-09",
        "jurisdiction": {"county_code": COUNTY, "township_code": TOWNSHIP, "village_code": VILLAGE},
        "school_id": "school-1", "categories": ["left_behind"],
    }
    body.update(overrides)
    return body


def full_child_body(**overrides: Any) -> dict[str, Any]:
    body = child_body(
        national_id=national_id(date(2016, 3, 9), "male"), ethnicity="汉族", household_type="agricultural",
        grade="三年级", class_name="2班", address="浙江省杭州市某镇某村12号",
        left_behind_type="both_parents_away", sensitive_categories=["incarcerated_parent"],
        priority=True, priority_reason="父亲服刑，母亲外出",
        guardians=[{"relation": "grandparent", "name": "王奶奶", "age": 68, "health": "高血压",
                    "occupation": "务农", "phone": "13800138000", "address": "浙江省杭州市某镇某村12号"}],
        parents=[{"relation": "mother", "name": "李某", "work_place": "广东省东莞市", "phone": "13912345678",
                  "away_since": "2020-02-01"}],
        lawful_basis={"statutory_duty": True, "duty_reference": "minors_protection_law"},
    )
    body.update(overrides)
    return body


def staff_headers(jurisdiction: str = COUNTY, *, sensitive: bool = False, purpose: str | None = None,
                  role: str = "county_staff", subject: str = "staff-1") -> dict[str, str]:
    headers = bearer(roles=[role], jurisdiction=jurisdiction, subject=subject,
                     permissions=["view_sensitive"] if sensitive else None)
    if purpose:
        headers["X-Purpose"] = purpose
    return headers


@dataclass
class Registry:
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    database_url: str
    runner: ImportRunner
    settings: RegistrySettings
    app: Any = None  # the ASGI app, for clients of other services (notify) in tests

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return await conn.fetch(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)


@asynccontextmanager
async def running_registry(infra: Any) -> AsyncIterator[Registry]:
    """The registry app in-process, with a fresh migrated database."""
    url = await create_migrated_database(infra, "registry", MIGRATIONS)
    settings = RegistrySettings(database_url=url, kafka_bootstrap_servers=infra.kafka_bootstrap)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as client:
                runner = ImportRunner(app.state.pool, FieldCipher.development(), batch_size=50,
                                      poll_interval_s=0.05, clock=settings.clock)
                yield Registry(client=client, pool=app.state.pool, database_url=url, runner=runner,
                               settings=settings, app=app)
    finally:
        await drop_database(infra, url)


@functools.lru_cache(maxsize=8)
def county_register(county_prefix: str = COUNTY[:6]) -> DivisionRegister:
    """The division register of one county, read from the edition file the registry ships
    (for pure tests of row parsing; the api and the worker read it from the database)."""
    rows = [{"edition": edition.name, "code": code, "level": level, "name": name}
            for edition in shipped_editions()
            for code, level, name, _parent in read_edition(edition.path) if code.startswith(county_prefix)]
    return DivisionRegister.from_rows(county_prefix, rows)


async def seed_schools(registry: Registry, county: str, schools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Enters schools in a county's register through the API (county staff), as a county
    does before its schools' sheets come in. Each: {id?, name, township_code, stage?, code?, head?}."""
    added = []
    for school in schools:
        response = await registry.client.post("/v1/schools", headers=staff_headers(county),
                                              json={"stage": "primary", **school})
        assert response.status_code == 201, response.text
        added.append(response.json())
    return added

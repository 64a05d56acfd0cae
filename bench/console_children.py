"""The console's children list (儿童信息) in a county of 100,000 children: every request the
list makes when a person scrolls (follows `next_cursor`) and filters, through the registry's
real API over HTTP, against the same SQL run directly on the same database in the same run.

Setup (not timed): a throwaway registry database migrated like production, then `--children`
children (default 100,000) COPYed in (the way bench/registry_import.py's baseline writes
them): the demo county's five townships (关岭) and their villages, 20 schools a township,
generated names with the registry's own search text (name, pinyin, initials), categories
and statuses in a county's proportions (left-behind 70 %, migrant 15 %, de-facto unsupported
6 %, disabled 3 %, orphan 2 %; active 90 %, transferred 7 %, closed 3 %), and 60 % of the
children paired with a caregiver (three to five each; `caregiver_pairings`, as pairing's
events leave them). Each row carries what a real one does: a valid synthetic national ID,
an address and a contact card (a guardian, a parent), encrypted with the development key
and bound to the row as the registry seals them, so rows are as wide as real ones and the
API decrypts and masks them as it does in production. VACUUM ANALYZE, then
`python -m services.registry api` on loopback.

Measured ("api"): one console user: one request at a time on a keep-alive connection, a
county staff token (a township clerk's for one row), with the console's page size (20 for
the list, 50 for a search). Per filter, `--rounds` passes of `--pages` pages, each page
following the previous answer's `next_cursor`; every response's round trip counts.

Baseline ("sql"): the very statement the registry runs for that page (services/registry/
store.py: same WHERE, same keyset or offset, same limit + 1), executed with asyncpg on a
direct connection to the same database, in the same passes, interleaved with the API's.
The ratio api p50 / sql p50 says what the HTTP hop, the token, masking and JSON cost on top.

Goal: every response ≤ 300 ms; judged on each filter's p95 (the max is printed too: one
slow outlier on this shared machine is noise, a slow p95 is a query to fix).

Run: `python -m bench.console_children [--children N] [--pages N] [--rounds N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg
import httpx

from bench.common import Goal, infrastructure, percentile, quiet_logging, rule
from bench.registry_import import GIVEN_CHARACTERS, SURNAMES, synthetic_id
from services.demo import COUNTY, TOWNSHIPS, VILLAGES
from services.registry import store
from services.registry.entry import ENTRY as REGISTRY
from services.registry.pinyin import normalize_query, search_text
from services.registry.privacy import context, national_id_index
from shared.crypto import FieldCipher
from shared.auth import issue_dev_token, scope_prefix
from shared.entrypoint import migrate_service
from shared.settings import AuthSettings
from tests.support.databases import create_database, drop_database
from tests.support.processes import REPO, free_port

GOAL_MS = 300
SCHOOLS_PER_TOWNSHIP = 20
CATEGORIES = (("left_behind", 0.70), ("migrant", 0.15), ("de_facto_unsupported", 0.06), ("disabled", 0.03),
              ("orphan", 0.02))
STATUSES = (("active", 0.90), ("transferred", 0.07), ("closed", 0.03))
LIST_LIMIT, SEARCH_LIMIT = 20, 50   # web/src/views/Children.vue's PAGE_SIZE and its search's limit


def school_of(township: str, n: int) -> str:
    return f"bench-school-{township[6:9]}-{n}"


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    x = rng.random()
    for value, share in weighted:
        x -= share
        if x < 0:
            return value
    return weighted[-1][0]


def generate(children: int) -> tuple[list[tuple], list[tuple], list[tuple[str, str]]]:
    """The children rows, the current pairings, and a few names that exist (deterministic)."""
    rng = random.Random(16)
    cipher = FieldCipher.development()  # the registry api's key in development
    rows, pairings, names = [], [], []
    caregiver, left_for_caregiver = uuid.uuid4(), 0
    for index in range(children):
        township = TOWNSHIPS[index % len(TOWNSHIPS)]
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARACTERS) for _ in range(1 if rng.random() < 0.2 else 2))
        category = _pick(rng, CATEGORIES)
        categories = [category] + (["left_behind"] if category == "disabled" and rng.random() < 0.5 else [])
        child_id = uuid.uuid4()
        national_id, birth, gender = synthetic_id(index)
        row_id = str(child_id)
        card = {"guardians": [{"relation": "grandparent", "relation_word": "祖母", "name": rng.choice(SURNAMES) + "秀英",
                               "age": 63, "phone": f"138{rng.randrange(100_000_000):08d}",
                               "address": "贵州省安顺市关岭县某某村某某组", "entrusted": False}],
                "parents": [{"relation": "father", "name": name[0] + "建国", "work_place": "广东省东莞市",
                             "phone": f"139{rng.randrange(100_000_000):08d}", "away_since": "2021-02"}]}
        sealed = (cipher.encrypt(national_id, context=context("national_id", row_id)),
                  national_id_index(cipher, national_id),
                  cipher.encrypt("贵州省安顺市关岭县某某村某某组12号", context=context("address", row_id)),
                  cipher.encrypt(json.dumps(card, ensure_ascii=False), context=context("contact_card", row_id)))
        rows.append((child_id, name, search_text(name), gender, birth, COUNTY, township,
                     rng.choice(VILLAGES[township]), school_of(township, rng.randrange(SCHOOLS_PER_TOWNSHIP) + 1),
                     f"{rng.randrange(6) + 1}年级", f"{rng.randrange(4) + 1}班",
                     "双亲外出" if category == "left_behind" else None, categories, rng.random() < 0.05,
                     _pick(rng, STATUSES), "import", "bench", *sealed))
        if rng.random() < 0.6:
            if left_for_caregiver == 0:
                caregiver, left_for_caregiver = uuid.uuid4(), rng.randrange(3, 6)
            pairings.append((uuid.uuid4(), child_id, caregiver, "lead", date(2026, 3, 1)))
            left_for_caregiver -= 1
        if index % max(1, children // 10) == 7:
            names.append((name, township))
    return rows, pairings, names


COLUMNS = ("id", "name", "search_text", "gender", "birth_date", "county_code", "township_code", "village_code",
           "school_id", "grade", "class_name", "left_behind_type", "categories", "priority", "status", "source",
           "created_by", "national_id_enc", "national_id_index", "address_enc", "contact_card_enc")


async def load(url: str, children: int) -> tuple[list[tuple], list[tuple[str, str]]]:
    started = time.perf_counter()
    rows, pairings, names = generate(children)
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("children", records=rows, columns=list(COLUMNS))
        await conn.copy_records_to_table("caregiver_pairings", records=pairings,
                                         columns=["pairing_id", "child_id", "caregiver_id", "role", "started_on"])
        await conn.execute("VACUUM ANALYZE children")
        await conn.execute("VACUUM ANALYZE caregiver_pairings")
    finally:
        await conn.close()
    print(f"  loaded {len(rows):,} children and {len(pairings):,} current pairings in "
          f"{time.perf_counter() - started:.1f} s (not timed)", flush=True)
    return pairings, names


@dataclass
class Case:
    """One way the console asks: the list with these query parameters, or a search."""

    label: str
    params: dict[str, str] = field(default_factory=dict)
    search: str | None = None
    township_clerk: bool = False
    api_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    rows: int = 0

    def store_filter(self) -> store.ChildFilter:
        p = self.params
        return store.ChildFilter(township_code=p.get("township_code"), school_id=p.get("school_id"),
                                 category=p.get("category"), status=p.get("status"),
                                 caregiver_id=uuid.UUID(p["caregiver_id"]) if "caregiver_id" in p else None)


def cases(pairings: list[tuple], names: list[tuple[str, str]]) -> list[Case]:
    township, other = TOWNSHIPS[0], TOWNSHIPS[2]
    name, its_township = names[1]
    syllables = search_text(name).split(" ")
    busiest = Counter(p[2] for p in pairings).most_common(1)[0][0]
    return [
        Case("all (county)"),
        Case("all (township clerk)", township_clerk=True),
        Case("township", {"township_code": township}),
        Case("school", {"township_code": other, "school_id": school_of(other, 7)}),
        Case("category left_behind", {"category": "left_behind"}),
        Case("category orphan", {"category": "orphan"}),
        Case("status active", {"status": "active"}),
        Case("status closed", {"status": "closed"}),
        Case("paired (caregiver_id)", {"caregiver_id": str(busiest)}),
        Case("township+orphan+closed", {"township_code": township, "category": "orphan", "status": "closed"}),
        Case("school+disabled", {"township_code": other, "school_id": school_of(other, 7), "category": "disabled"}),
        Case("search name", search=name),
        Case("search surname (1 char)", search=name[0]),
        Case("search 2 characters", search=name[:2]),
        Case("search full pinyin", search=syllables[1]),
        Case("search initials", search=syllables[2]),
        Case("search pinyin prefix", search=syllables[1][:4]),
        Case("search 2 letters", search=syllables[1][:2]),
        Case("search + township", {"township_code": its_township}, search=syllables[1][:4]),
    ]


async def run_case(case: Case, client: httpx.AsyncClient, conn: asyncpg.Connection, pages: int,
                   tokens: dict[bool, str]) -> None:
    """One pass: `pages` pages through the API, then the same pages in SQL."""
    headers = {"Authorization": f"Bearer {tokens[case.township_clerk]}"}
    prefix = scope_prefix(TOWNSHIPS[0] if case.township_clerk else COUNTY)
    cursor: str | None = None
    for _ in range(pages):
        started = time.perf_counter()
        if case.search is None:
            response = await client.get("/v1/children", headers=headers,
                                        params={**case.params, "limit": LIST_LIMIT, **({"cursor": cursor} if cursor else {})})
        else:
            response = await client.post("/v1/children/search", headers=headers, json={
                "query": case.search, "limit": SEARCH_LIMIT, "cursor": cursor,
                "township_code": case.params.get("township_code")})
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        case.api_ms.append(elapsed * 1000)
        body = response.json()
        case.rows += len(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            break
    after: Any = None
    filters = case.store_filter()
    for page in range(pages):
        started = time.perf_counter()
        if case.search is None:
            rows = await store.list_children_in_scope(conn, prefix, after=after, limit=LIST_LIMIT + 1, filters=filters)
        else:
            rows = await store.search_children(conn, prefix, normalize_query(case.search), limit=SEARCH_LIMIT + 1,
                                               filters=filters, offset=page * SEARCH_LIMIT)
        case.sql_ms.append((time.perf_counter() - started) * 1000)
        limit = LIST_LIMIT if case.search is None else SEARCH_LIMIT
        if len(rows) <= limit:
            break
        after = rows[limit - 1]["id"]


async def wait_ready(base: str, process: subprocess.Popen) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit("bench: the registry api exited")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("bench: the registry api did not become ready")


async def run(children: int, pages: int, rounds: int) -> list[Goal]:
    infra = infrastructure()
    quiet_logging()
    rule(f"console children list: {children:,} children, {pages} pages × {rounds} rounds per filter")
    url = await create_database(infra, "bench_console_children")
    process: subprocess.Popen | None = None
    try:
        await migrate_service(REGISTRY, url)
        pairings, names = await load(url, children)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")} | {
            "SHOUHU_ENV": "development", "SHOUHU_REGISTRY_DATABASE_URL": url, "SHOUHU_REGISTRY_HTTP_PORT": str(port),
            "SHOUHU_REGISTRY_LOG_LEVEL": "WARNING", "SHOUHU_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap}
        process = subprocess.Popen([sys.executable, "-m", "services.registry", "api"], cwd=REPO, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base, process)
        auth = AuthSettings()
        tokens = {False: issue_dev_token(auth, subject="bench-county", roles=["county_staff"], jurisdiction=COUNTY,
                                         ttl_seconds=3600),
                  True: issue_dev_token(auth, subject="bench-clerk", roles=["township_staff"], jurisdiction=TOWNSHIPS[0],
                                        ttl_seconds=3600)}
        all_cases = cases(pairings, names)
        conn = await asyncpg.connect(url)
        try:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                for case in all_cases:  # warm-up: pools, prepared statements, the pages in PostgreSQL's cache
                    await run_case(case, client, conn, pages, tokens)
                    case.api_ms.clear(), case.sql_ms.clear()
                    case.rows = 0
                for _ in range(rounds):
                    for case in all_cases:
                        await run_case(case, client, conn, pages, tokens)
        finally:
            await conn.close()
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        await drop_database(infra, url)
    return report(all_cases, rounds)


def report(all_cases: list[Case], rounds: int) -> list[Goal]:
    print(f"  {'filter':<26}{'pages':>6}{'rows/pass':>10} │ {'api p50':>8}{'p95':>8}{'max':>8} │"
          f" {'sql p50':>8}{'p95':>8} │ {'ratio':>6}  (ms; goal p95 ≤ {GOAL_MS})")
    goals = []
    for case in all_cases:
        api50, api95, api_max = percentile(case.api_ms, 50), percentile(case.api_ms, 95), max(case.api_ms)
        sql50, sql95 = percentile(case.sql_ms, 50), percentile(case.sql_ms, 95)
        verdict = "met" if api95 <= GOAL_MS else "MISSED"
        print(f"  {case.label:<26}{len(case.api_ms) // rounds:>6}{case.rows // rounds:>10} │ {api50:8.1f}{api95:8.1f}"
              f"{api_max:8.1f} │ {sql50:8.2f}{sql95:8.2f} │ {api50 / sql50:6.1f}  {verdict}")
        goals.append(Goal(f"children list '{case.label}' p95", api95, "<=", GOAL_MS, " ms"))
    worst = max(goals, key=lambda g: g.value)
    print("  worst: " + worst.line(), flush=True)
    return goals


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.console_children", description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=10, help="pages followed per pass (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes per filter (default 3)")
    args = parser.parse_args()
    asyncio.run(run(args.children, args.pages, args.rounds))


if __name__ == "__main__":
    main()

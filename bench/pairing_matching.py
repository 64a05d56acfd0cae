"""Matching at county scale: 50,000 unpaired children and 20,000 caregivers.

A throwaway pairing database is filled (COPY) with a synthetic county: 25 townships of 15
villages and 6 schools each; 50,000 unpaired active children (10% priority) and 5,000
already-paired ones (so that caregivers start with a load); 20,000 caregivers of every kind
with the default capacities, teachers attached to schools, village officials, 爱心妈妈 and
儿童主任 to villages. Then, in the same run:

  api        POST /v1/matching/proposals for the whole county through the real app
             (in-process ASGI): read the projection, build the candidate graph, solve,
             store 50,000 proposal items. The goal: ≤ 10 s.
  raw solve  the bare scipy min_weight_full_bipartite_matching on the same slot-expanded
             sparse matrix, built beforehand (no database, no graph building, no split
             into independent pieces): what the library alone costs.
  greedy     a plain greedy pass over the same candidate graph (priority children first,
             each takes the cheapest free place): the naive baseline, fast but worse.

Printed: each time, the ratio api / raw solve and api / greedy, and the objective (lower is
better) and placements of the optimal proposal against the greedy one.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections import defaultdict

import asyncpg
import httpx
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from bench.common import Goal, infrastructure, rule
from services.pairing.app import create_app
from services.pairing.config import PairingSettings
from services.pairing.domain import DEFAULT_CAPACITY, CaregiverPlace, ChildPlace
from services.pairing.domain_matching import (
    MatchCaregiver, MatchChild, MatchCosts, candidate_graph, problem_arrays, slot_matrix, solve, total_cost,
)
from services.pairing.entry import ENTRY
from tests.support.auth import staff
from tests.support.databases import create_migrated_database, drop_database

COUNTY = "330102000000"
GOAL_S = 10.0


def township_code(t: int) -> str:
    return f"330102{t + 1:03d}000"


def village_code(t: int, v: int) -> str:
    return f"330102{t + 1:03d}{v + 1:03d}"


def synthetic_county(children: int, caregivers: int, paired: int, townships: int, seed: int = 2026):
    rng = random.Random(seed)
    villages, schools = 15, 6

    def child_row(status: str = "active") -> tuple:
        t = rng.randrange(townships)
        return (uuid.uuid4(), COUNTY, township_code(t), village_code(t, rng.randrange(villages)),
                f"school-{t}-{rng.randrange(schools)}", rng.random() < 0.10, "6-11", status, 1)

    child_rows = [child_row() for _ in range(children)]
    kinds = list(DEFAULT_CAPACITY)
    caregiver_rows = []
    for _ in range(caregivers):
        t = rng.randrange(townships)
        kind = rng.choice(kinds)
        school = f"school-{t}-{rng.randrange(schools)}" if kind in ("teacher", "class_teacher") else None
        village = (village_code(t, rng.randrange(villages))
                   if kind in ("village_official", "children_director", "caring_mother") else None)
        caregiver_rows.append((uuid.uuid4(), kind, COUNTY, township_code(t), village, school, None,
                               ["in_app"], True, 1, "bench"))
    # Already-paired children, one each with the first `paired` caregivers (who then have load 1).
    paired_children, pairings = [], []
    for caregiver in caregiver_rows[:paired]:
        t_code, v_code, school = caregiver[3], caregiver[4], caregiver[5]
        child_id = uuid.uuid4()
        paired_children.append((child_id, COUNTY, t_code, v_code or t_code[:9] + "001",
                                school or f"school-{int(t_code[6:9]) - 1}-0", False, "6-11", "active", 1))
        pairings.append((uuid.uuid4(), child_id, caregiver[0], "lead", "2026-01-05", "bench"))
    return child_rows + paired_children, caregiver_rows, pairings


async def load(url: str, child_rows, caregiver_rows, pairing_rows) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("children", records=child_rows, columns=[
            "id", "county_code", "township_code", "village_code", "school_id", "priority", "age_band", "status",
            "record_version"])
        await conn.copy_records_to_table("caregivers", records=caregiver_rows, columns=[
            "id", "kind", "county_code", "township_code", "village_code", "school_id", "capacity_override",
            "channels", "active", "version", "created_by"])
        await conn.executemany(
            "INSERT INTO pairings (id, child_id, caregiver_id, role, started_on, created_by) "
            "VALUES ($1, $2, $3, $4, $5::text::date, $6)", pairing_rows)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def greedy(children: list[MatchChild], caregivers: list[MatchCaregiver], costs: MatchCosts) -> dict[int, int]:
    """Priority children first; each takes its cheapest candidate with a free place now."""
    graph = candidate_graph(children, caregivers, costs)
    edges: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for child, caregiver, level_cost in zip(graph.child.tolist(), graph.caregiver.tolist(), graph.level_cost.tolist()):
        edges[child].append((caregiver, level_cost))
    taken = [c.load for c in caregivers]
    chosen: dict[int, int] = {}
    for child in sorted(edges, key=lambda i: not children[i].priority):
        best, best_cost = None, None
        for caregiver, level_cost in edges[child]:
            if taken[caregiver] < caregivers[caregiver].capacity:
                cost = level_cost + costs.per_slot * taken[caregiver]
                if best_cost is None or cost < best_cost:
                    best, best_cost = caregiver, cost
        if best is not None:
            chosen[child] = best
            taken[best] += 1
    return chosen


def problem_from_rows(child_rows, caregiver_rows, pairing_rows):
    loads: dict = defaultdict(int)
    for row in pairing_rows:
        loads[row[2]] += 1
    paired = {row[1] for row in pairing_rows}
    children = [MatchChild(ChildPlace(r[2], r[3], r[4]), priority=r[5]) for r in child_rows if r[0] not in paired]
    caregivers = [MatchCaregiver(CaregiverPlace(r[3], r[4], r[5]), load=loads[r[0]], capacity=DEFAULT_CAPACITY[r[1]])
                  for r in caregiver_rows]
    return children, caregivers


async def run(children_n: int, caregivers_n: int, townships: int) -> None:
    infra = infrastructure()
    rule(f"pairing matching: {children_n:,} unpaired children × {caregivers_n:,} caregivers")
    child_rows, caregiver_rows, pairing_rows = synthetic_county(children_n, caregivers_n, children_n // 10,
                                                                townships)
    url = await create_migrated_database(infra, "pairingbench", ENTRY.migrations_dir)
    try:
        await load(url, child_rows, caregiver_rows, pairing_rows)
        app = create_app(PairingSettings(database_url=url, kafka_bootstrap_servers=infra.kafka_bootstrap))
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b",
                                         timeout=120) as client:
                started = time.perf_counter()
                response = await client.post("/v1/matching/proposals", json={"jurisdiction": COUNTY},
                                             headers=staff(COUNTY))
                api_s = time.perf_counter() - started
        response.raise_for_status()
        summary = response.json()
    finally:
        await drop_database(infra, url)

    costs = MatchCosts()
    children, caregivers = problem_from_rows(child_rows, caregiver_rows, pairing_rows)
    graph = candidate_graph(children, caregivers, costs)
    free, load_, unassigned = problem_arrays(children, caregivers, costs)
    whole = slot_matrix(graph.child, graph.caregiver, graph.level_cost, free, load_, unassigned, costs)
    started = time.perf_counter()
    min_weight_full_bipartite_matching(whole.matrix)
    raw_s = time.perf_counter() - started

    started = time.perf_counter()
    greedy_choice = greedy(children, caregivers, costs)
    greedy_s = time.perf_counter() - started
    optimal = {a.child: a.caregiver for a in solve(children, caregivers, costs)}
    optimal_cost = total_cost(children, caregivers, optimal, costs)
    greedy_cost = total_cost(children, caregivers, greedy_choice, costs)
    priority_greedy = sum(1 for i in greedy_choice if children[i].priority)

    print(f"  candidate graph: {len(graph.child):,} child–caregiver edges, {whole.matrix.nnz:,} slot edges "
          f"(matrix {whole.matrix.shape[0]:,} × {whole.matrix.shape[1]:,})")
    print(f"  api    POST /v1/matching/proposals   {api_s:7.2f} s  (of which graph + solve {summary['solve_ms'] / 1000:.2f} s)")
    print(f"         proposed {summary['proposed']:,} of {summary['children_considered']:,}; priority "
          f"{summary['priority_proposed']:,} of {summary['priority_children']:,}; by level {summary['by_level']}")
    print(f"  raw    bare scipy solve, same matrix  {raw_s:7.2f} s   api / raw = {api_s / raw_s:.2f}")
    print(f"  greedy priority-first greedy pass     {greedy_s:7.2f} s   api / greedy = {api_s / greedy_s:.2f}")
    print(f"  objective (lower is better): optimal {optimal_cost:,}  greedy {greedy_cost:,}  "
          f"(greedy {100 * (greedy_cost - optimal_cost) / optimal_cost:+.2f}%); placed: optimal {len(optimal):,}, "
          f"greedy {len(greedy_choice):,} (priority {priority_greedy:,})")
    print("  " + Goal("proposal for the whole county", api_s, "<=", GOAL_S, " s").line())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pairing_matching")
    parser.add_argument("--children", type=int, default=50_000)
    parser.add_argument("--caregivers", type=int, default=20_000)
    parser.add_argument("--townships", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(run(args.children, args.caregivers, args.townships))


if __name__ == "__main__":
    main()

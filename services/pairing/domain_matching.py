"""Matching: an optimal assignment of unpaired children to caregivers' free places. Pure.

The model (issue 4 §4):
- every caregiver's free places are expanded into *slots*; the k-th place of a caregiver
  (counting the children they already have) costs `per_slot * k`, so a marginal child
  costs more the busier the caregiver is: load is balanced, and capacity can never be
  exceeded because there are no more slots than free places;
- an edge exists only where the caregiver may serve the child (domain.coverage_level):
  same school, same village or same township; its cost is the level's cost (school and
  village before township) plus the slot's cost;
- every child also has a private "unassigned" slot costing `unassigned` (much more for a
  priority child), so a full matching always exists, every child who can be placed is
  placed, and when places are short priority children are placed first;
- the minimum-weight full matching of that sparse graph
  (scipy.sparse.csgraph.min_weight_full_bipartite_matching) is the proposal. The graph
  falls apart into independent pieces (roughly: townships, joined where a school takes
  children from several), which are solved one by one.

Sparsity at county scale: the caregivers of one group (a school, a village, a township) are,
for a child of that group, interchangeable except for their load. Linking every child to
every one of them would give ~10^8 edges at 50,000 × 20,000 in a large township, so each
child gets at most `candidates_per_level` caregivers per level, taken from the group ordered
least loaded first and rotated per child so that the group's children spread over all of
them. The assignment is optimal over that graph, and exactly optimal whenever no group has
more caregivers than the limit (tests check this against brute force).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, min_weight_full_bipartite_matching

from services.pairing.domain import CaregiverPlace, ChildPlace, coverage_level


@dataclass(frozen=True)
class MatchCosts:
    school: int = 1
    village: int = 1
    township: int = 6
    per_slot: int = 2
    unassigned: int = 100
    unassigned_priority: int = 1000
    candidates_per_level: int = 8

    def level_cost(self, level: str) -> int:
        return {"school": self.school, "village": self.village, "township": self.township}[level]


@dataclass(frozen=True)
class MatchChild:
    place: ChildPlace
    priority: bool = False


@dataclass(frozen=True)
class MatchCaregiver:
    place: CaregiverPlace
    load: int
    capacity: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.load)


@dataclass(frozen=True)
class Assignment:
    child: int       # index into the children given
    caregiver: int   # index into the caregivers given
    level: str
    cost: int        # level cost + the slot's marginal cost


@dataclass(frozen=True)
class CandidateGraph:
    """Child-level candidate edges (before slot expansion)."""

    child: np.ndarray       # int64
    caregiver: np.ndarray  # int64
    level_cost: np.ndarray  # int64
    levels: np.ndarray      # int8: 0 school, 1 village, 2 township


def candidate_graph(children: list[MatchChild], caregivers: list[MatchCaregiver],
                    costs: MatchCosts = MatchCosts()) -> CandidateGraph:
    by_school: dict[str, list[int]] = defaultdict(list)
    by_village: dict[str, list[int]] = defaultdict(list)
    by_township: dict[str, list[int]] = defaultdict(list)
    for index, caregiver in enumerate(caregivers):
        if caregiver.free <= 0 or not caregiver.place.active:
            continue
        place = caregiver.place
        if place.school_id is not None:
            by_school[place.school_id].append(index)
        else:
            by_township[place.township_code].append(index)
            if place.village_code is not None:
                by_village[place.village_code].append(index)
    for members in by_township.values():  # least loaded first, so the rotation starts there
        members.sort(key=lambda i: (caregivers[i].load / max(caregivers[i].capacity, 1), i))

    for members in (*by_school.values(), *by_village.values()):
        members.sort(key=lambda i: (caregivers[i].load / max(caregivers[i].capacity, 1), i))

    rows: list[int] = []
    cols: list[int] = []
    kinds: list[int] = []
    turns: dict[tuple[int, str], int] = defaultdict(int)
    limit = costs.candidates_per_level
    village_of = [caregiver.place.village_code for caregiver in caregivers]

    def window(level: int, key: str, members: list[int]) -> list[int]:
        """This child's candidates in one group: all of them, or `limit` rotated per child."""
        count = len(members)
        if count <= limit:
            return members
        start = (turns[(level, key)] * limit) % count
        turns[(level, key)] += 1
        end = start + limit
        return members[start:end] if end <= count else members[start:] + members[:end - count]

    for child_index, child in enumerate(children):
        place = child.place
        if place.status != "active":
            continue
        if place.school_id is not None and place.school_id in by_school:
            school = window(0, place.school_id, by_school[place.school_id])
            rows.extend([child_index] * len(school))
            cols.extend(school)
            kinds.extend([0] * len(school))
        village_code = place.village_code
        if village_code is not None and village_code in by_village:
            village = window(1, village_code, by_village[village_code])
            rows.extend([child_index] * len(village))
            cols.extend(village)
            kinds.extend([1] * len(village))
        if place.township_code in by_township:
            township = window(2, place.township_code, by_township[place.township_code])
            if village_code is not None:
                # An edge at village level, if this child has one, is not repeated.
                township = [index for index in township if village_of[index] != village_code]
            rows.extend([child_index] * len(township))
            cols.extend(township)
            kinds.extend([2] * len(township))
    level_costs = np.array([costs.school, costs.village, costs.township], dtype=np.int64)
    levels = np.asarray(kinds, dtype=np.int8)
    return CandidateGraph(np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64),
                          level_costs[levels] if len(levels) else np.zeros(0, dtype=np.int64), levels)


def solve(children: list[MatchChild], caregivers: list[MatchCaregiver],
          costs: MatchCosts = MatchCosts()) -> list[Assignment]:
    """The minimum-cost assignment over the candidate graph (see the module docstring)."""
    graph = candidate_graph(children, caregivers, costs)
    return solve_graph(graph, children, caregivers, costs)


def solve_graph(graph: CandidateGraph, children: list[MatchChild], caregivers: list[MatchCaregiver],
                costs: MatchCosts = MatchCosts()) -> list[Assignment]:
    if len(graph.child) == 0:
        return []
    n_children, n_caregivers = len(children), len(caregivers)
    # Independent pieces: components of the child–caregiver graph.
    adjacency = coo_matrix((np.ones(len(graph.child)), (graph.child, n_children + graph.caregiver)),
                           shape=(n_children + n_caregivers,) * 2)
    _, labels = connected_components(adjacency, directed=False)
    edge_component = labels[graph.child]
    order = np.argsort(edge_component, kind="stable")
    boundaries = np.flatnonzero(np.diff(edge_component[order])) + 1
    free, load, unassigned = problem_arrays(children, caregivers, costs)
    result: list[Assignment] = []
    for edges in np.split(order, boundaries):
        result.extend(_solve_piece(children, caregivers, graph.child[edges], graph.caregiver[edges],
                                   graph.level_cost[edges], free, load, unassigned, costs))
    return result


@dataclass(frozen=True)
class SlotMatrix:
    """The slot-expanded cost matrix of some edges: rows are children, columns the free
    slots of their caregivers followed by one "unassigned" column per child."""

    matrix: csr_matrix
    rows_global: np.ndarray   # row → child index
    cgs_global: np.ndarray    # local caregiver → caregiver index
    slot_base: np.ndarray     # local caregiver → its first slot column
    slot_owner: np.ndarray    # slot column → local caregiver
    n_slots: int


def slot_matrix(child: np.ndarray, caregiver: np.ndarray, level_cost: np.ndarray,
                free: np.ndarray, load: np.ndarray, unassigned: np.ndarray, costs: MatchCosts) -> SlotMatrix:
    rows_global, row_local = np.unique(child, return_inverse=True)
    cgs_global, cg_local = np.unique(caregiver, return_inverse=True)
    cg_free = free[cgs_global]
    slot_base = np.concatenate(([0], np.cumsum(cg_free)[:-1]))
    n_slots = int(cg_free.sum())
    n_rows = len(rows_global)
    # Expand every child–caregiver edge into one edge per free slot of the caregiver.
    repeats = cg_free[cg_local]
    edge_of_slot = np.repeat(np.arange(len(child)), repeats)
    slot_offset = np.arange(len(edge_of_slot)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    slot_cg = cg_local[edge_of_slot]
    slot_rows = row_local[edge_of_slot]
    slot_cols = slot_base[slot_cg] + slot_offset
    # +1: a zero weight would be an absent edge in a sparse matrix. Every child is matched
    # exactly once, so the same constant on every edge changes nothing.
    slot_weights = 1 + level_cost[edge_of_slot] + costs.per_slot * (load[cgs_global][slot_cg] + slot_offset)
    rows = np.concatenate((slot_rows, np.arange(n_rows)))
    cols = np.concatenate((slot_cols, n_slots + np.arange(n_rows)))
    weights = np.concatenate((slot_weights, 1 + unassigned[rows_global])).astype(np.float64)
    matrix = csr_matrix((weights, (rows, cols)), shape=(n_rows, n_slots + n_rows))
    return SlotMatrix(matrix, rows_global, cgs_global, slot_base, np.repeat(np.arange(len(cgs_global)), cg_free),
                      n_slots)


def _solve_piece(children: list[MatchChild], caregivers: list[MatchCaregiver], child: np.ndarray,
                 caregiver: np.ndarray, level_cost: np.ndarray, free: np.ndarray, load: np.ndarray,
                 unassigned: np.ndarray, costs: MatchCosts) -> list[Assignment]:
    piece = slot_matrix(child, caregiver, level_cost, free, load, unassigned, costs)
    matched_rows, matched_cols = min_weight_full_bipartite_matching(piece.matrix)
    assignments = []
    for r, col in zip(matched_rows, matched_cols):
        if col >= piece.n_slots:
            continue  # the child's "unassigned" slot
        local_cg = int(piece.slot_owner[col])
        child_index, caregiver_index = int(piece.rows_global[r]), int(piece.cgs_global[local_cg])
        # The edge's level is the coverage level: candidate_graph built it from the same rule.
        level = coverage_level(children[child_index].place, caregivers[caregiver_index].place)
        slot_cost = costs.per_slot * int(load[caregiver_index] + col - piece.slot_base[local_cg])
        assignments.append(Assignment(child=child_index, caregiver=caregiver_index, level=level,
                                      cost=costs.level_cost(level) + slot_cost))
    return assignments


def problem_arrays(children: list[MatchChild], caregivers: list[MatchCaregiver],
                   costs: MatchCosts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """free places, load per caregiver; the unassigned cost per child."""
    free = np.array([c.free for c in caregivers], dtype=np.int64)
    load = np.array([c.load for c in caregivers], dtype=np.int64)
    unassigned = np.array([costs.unassigned_priority if c.priority else costs.unassigned for c in children],
                          dtype=np.int64)
    return free, load, unassigned


def total_cost(children: list[MatchChild], caregivers: list[MatchCaregiver],
               chosen: dict[int, int], costs: MatchCosts = MatchCosts()) -> int | None:
    """The objective of an assignment {child index: caregiver index}, computed directly
    (no slots); None when it breaks a rule (capacity, coverage). Used to check `solve`."""
    total = 0
    taken: dict[int, int] = defaultdict(int)
    for child_index, child in enumerate(children):
        caregiver_index = chosen.get(child_index)
        if caregiver_index is None:
            total += costs.unassigned_priority if child.priority else costs.unassigned
            continue
        caregiver = caregivers[caregiver_index]
        level = coverage_level(child.place, caregiver.place)
        if level is None or child.place.status != "active" or not caregiver.place.active:
            return None
        total += costs.level_cost(level)
        taken[caregiver_index] += 1
    for caregiver_index, count in taken.items():
        caregiver = caregivers[caregiver_index]
        if count > caregiver.free:
            return None
        total += sum(costs.per_slot * (caregiver.load + j) for j in range(count))
    return total

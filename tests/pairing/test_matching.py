"""Matching is optimal on small cases (brute force over every assignment) and never
exceeds capacity, on many random small counties (seeded, so a failure reproduces)."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from services.pairing.domain import CaregiverPlace, ChildPlace
from services.pairing.domain_matching import MatchCaregiver, MatchChild, MatchCosts, solve, total_cost

TOWNSHIPS = ("330102001000", "330102002000")
VILLAGES = {"330102001000": ("330102001001", "330102001002"), "330102002000": ("330102002001",)}
SCHOOLS = ("school-a", "school-b", None)


def random_case(rng: random.Random) -> tuple[list[MatchChild], list[MatchCaregiver]]:
    children = []
    for _ in range(rng.randint(1, 6)):
        township = rng.choice(TOWNSHIPS)
        children.append(MatchChild(ChildPlace(township, rng.choice(VILLAGES[township] + (None,)),
                                              rng.choice(SCHOOLS)), priority=rng.random() < 0.3))
    caregivers = []
    for _ in range(rng.randint(1, 4)):
        township = rng.choice(TOWNSHIPS)
        school = rng.choice(SCHOOLS)
        village = None if school else rng.choice(VILLAGES[township] + (None,))
        capacity = rng.randint(0, 3)
        caregivers.append(MatchCaregiver(CaregiverPlace(township, village, school),
                                         load=rng.randint(0, capacity), capacity=capacity))
    return children, caregivers


def brute_force_best(children, caregivers, costs) -> int:
    best = None
    for choice in itertools.product([None, *range(len(caregivers))], repeat=len(children)):
        chosen = {i: c for i, c in enumerate(choice) if c is not None}
        cost = total_cost(children, caregivers, chosen, costs)
        if cost is not None and (best is None or cost < best):
            best = cost
    assert best is not None  # leaving everyone unassigned is always allowed
    return best


@pytest.mark.parametrize("seed", range(150))
def test_solution_is_optimal_and_within_capacity(seed: int) -> None:
    rng = random.Random(seed)
    children, caregivers = random_case(rng)
    costs = MatchCosts()
    assignments = solve(children, caregivers, costs)

    per_caregiver = Counter(a.caregiver for a in assignments)
    assert all(per_caregiver[i] <= caregivers[i].free for i in per_caregiver), "capacity exceeded"
    assert len({a.child for a in assignments}) == len(assignments), "a child assigned twice"
    chosen = {a.child: a.caregiver for a in assignments}
    achieved = total_cost(children, caregivers, chosen, costs)
    assert achieved is not None, "an assignment breaks a coverage rule"
    assert achieved == brute_force_best(children, caregivers, costs)


def test_priority_children_are_placed_first_when_places_are_short() -> None:
    township, village = TOWNSHIPS[0], VILLAGES[TOWNSHIPS[0]][0]
    children = [MatchChild(ChildPlace(township, village, None), priority=False),
                MatchChild(ChildPlace(township, None, None), priority=True)]
    one_place = [MatchCaregiver(CaregiverPlace(township, village, None), load=0, capacity=1)]
    [assignment] = solve(children, one_place)
    # The ordinary child is nearer (same village), but the priority child comes first.
    assert assignment.child == 1


def test_same_village_before_same_township_and_load_balanced() -> None:
    township, village = TOWNSHIPS[0], VILLAGES[TOWNSHIPS[0]][0]
    child = [MatchChild(ChildPlace(township, village, None))]
    near_busy = MatchCaregiver(CaregiverPlace(township, village, None), load=0, capacity=3)
    far_idle = MatchCaregiver(CaregiverPlace(township, None, None), load=0, capacity=3)
    [assignment] = solve(child, [far_idle, near_busy])
    assert assignment.caregiver == 1 and assignment.level == "village"

    # Four children of one village, two village caregivers: two each, not three and one.
    children = [MatchChild(ChildPlace(township, village, None)) for _ in range(4)]
    caregivers = [MatchCaregiver(CaregiverPlace(township, village, None), load=0, capacity=3) for _ in range(2)]
    counts = Counter(a.caregiver for a in solve(children, caregivers))
    assert sorted(counts.values()) == [2, 2]


def test_a_caregiver_is_never_given_more_than_their_free_places_at_scale() -> None:
    rng = random.Random(7)
    children = [MatchChild(ChildPlace(TOWNSHIPS[0], rng.choice(VILLAGES[TOWNSHIPS[0]]), rng.choice(SCHOOLS)),
                           priority=rng.random() < 0.2) for _ in range(400)]
    caregivers = [MatchCaregiver(CaregiverPlace(TOWNSHIPS[0], None, rng.choice(SCHOOLS)),
                                 load=rng.randint(0, 1), capacity=rng.randint(1, 3)) for _ in range(120)]
    assignments = solve(children, caregivers)
    counts = Counter(a.caregiver for a in assignments)
    assert all(counts[i] <= caregivers[i].free for i in counts)
    assert len(assignments) <= sum(c.free for c in caregivers)

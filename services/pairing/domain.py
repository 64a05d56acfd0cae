"""Pairing rules, pure: no I/O. Who may be paired with whom, capacity, the support period.
(Matching lives in domain_matching.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, Mapping

from shared.rules import Refusal  # noqa: F401  (the domain's refusals: domain.Refusal)
from shared.terms import term_of

# Built-in capacity per kind (issue 4 §1; a teacher takes 2–3 children, 篇3 and 篇12).
# A county overrides any of these in capacity_defaults; a caregiver may have its own.
DEFAULT_CAPACITY: Mapping[str, int] = {
    "teacher": 3, "class_teacher": 3, "caring_mother": 2, "student_buddy": 1, "volunteer": 2,
    "party_member": 2, "village_official": 3, "children_director": 10,
}

SupportPeriod = Literal["term", "half_year"]



@dataclass(frozen=True)
class ChildPlace:
    township_code: str
    village_code: str | None
    school_id: str | None
    status: str = "active"


@dataclass(frozen=True)
class CaregiverPlace:
    township_code: str
    village_code: str | None
    school_id: str | None
    active: bool = True


def effective_capacity(kind: str, override: int | None, county_defaults: Mapping[str, int]) -> int:
    if override is not None:
        return override
    return county_defaults.get(kind, DEFAULT_CAPACITY[kind])


def coverage_level(child: ChildPlace, caregiver: CaregiverPlace) -> str | None:
    """How near a caregiver is to a child, or None when the caregiver may not serve the child.

    A caregiver with a school serves that school's children, wherever they live (a class
    teacher and the children of the school); a caregiver without one serves the children of
    their township, nearest first within their village.
    """
    if caregiver.school_id is not None:
        return "school" if child.school_id == caregiver.school_id else None
    if caregiver.township_code != child.township_code:
        return None
    if caregiver.village_code is not None and caregiver.village_code == child.village_code:
        return "village"
    return "township"


def check_new_pairing(*, child: ChildPlace, caregiver: CaregiverPlace, load: int, capacity: int,
                      role: str, has_lead: bool, already_paired: bool) -> str:
    """Returns the match level, or raises Refusal naming the rule that refuses it."""
    if child.status != "active":
        raise Refusal(409, "child_not_active", f"the child's record is {child.status}")
    if not caregiver.active:
        raise Refusal(409, "caregiver_inactive", "the caregiver is not active")
    level = coverage_level(child, caregiver)
    if level is None:
        why = ("the caregiver's school is not the child's school" if caregiver.school_id is not None
               else "the caregiver's township is not the child's township")
        raise Refusal(422, "outside_jurisdiction", why)
    if already_paired:
        raise Refusal(409, "already_paired", "this caregiver is already paired with the child")
    if role == "lead" and has_lead:
        raise Refusal(409, "lead_exists", "the child already has a lead caregiver; add this one as a helper")
    if load >= capacity:
        raise Refusal(409, "over_capacity", "the caregiver has no free place", load=load, capacity=capacity)
    return level


def still_covers(child: ChildPlace, caregiver: CaregiverPlace) -> bool:
    """After a transfer: may the caregiver go on serving the child?"""
    return coverage_level(child, caregiver) is not None


def support_period_key(given_on: date, period: SupportPeriod) -> str:
    """The period a gift counts in, for the "second gift from the same fund" flag.

    term: the school terms every service uses (shared/terms.py, as the screens give them):
    autumn 1 September – 31 January, spring 1 February – 31 July, and August, the summer
    holiday, with the spring term it closes (migration 0165 moved February's stored keys
    when February left the autumn term);
    half_year: January–June and July–December.
    """
    if period == "half_year":
        return f"{given_on.year}H{1 if given_on.month <= 6 else 2}"
    return term_of(given_on).key

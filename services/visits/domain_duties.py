"""Duty rules, pure: periods, which policy applies, which duty instances a pairing owes,
and how far up the ladder an overdue duty has gone. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Iterator, Literal, Mapping, get_args

from shared.contracts import Event, Jurisdiction
from shared.contracts.events import DutyKind

Period = Literal["weekly", "monthly", "term", "off"]
Audience = Literal["all", "priority"]
Role = Literal["lead", "helper"]
# The kinds policies schedule: a plan's reviews and a contact's follow-ups are duties too,
# but the plan and the contact own their dates.
OWNED_ELSEWHERE = ("plan_review", "follow_up")
DUTY_KINDS: tuple[str, ...] = tuple(kind for kind in get_args(DutyKind) if kind not in OWNED_ELSEWHERE)
ROLES: tuple[str, ...] = get_args(Role)
PERIODS: tuple[str, ...] = get_args(Period)

# Which contact kinds fulfil which duty: a video call with the parents is a call with them.
FULFILLED_BY: dict[str, tuple[str, ...]] = {
    "home_visit": ("home_visit",),
    "talk": ("talk",),
    "parent_call": ("parent_call", "parent_video"),
    "letter": ("letter",),
    "guardian_talk": ("guardian_talk",),
}


def duty_kinds_met_by(contact_kind: str) -> tuple[str, ...]:
    """The duty kinds a contact of this kind fulfils (none for health checks, activities…)."""
    return tuple(duty for duty, kinds in FULFILLED_BY.items() if contact_kind in kinds)


OVERDUE_LEVELS = {1: "caregiver", 3: "county"}  # level 2 is "school" or "township", see level_name


@dataclass(frozen=True)
class Term:
    start_month: int
    start_day: int
    end_month: int
    end_day: int


def parse_terms(spec: str) -> tuple[Term, ...]:
    """'03-01:07-31,09-01:01-31' → two terms; the second runs into the next year."""
    terms = []
    for item in spec.split(","):
        start, _, end = item.strip().partition(":")
        sm, sd = (int(part) for part in start.split("-"))
        em, ed = (int(part) for part in end.split("-"))
        date(2024, sm, sd), date(2024, em, ed)  # validates (2024 has a 29 February)
        terms.append(Term(sm, sd, em, ed))
    if not terms:
        raise ValueError("at least one term is needed")
    return tuple(terms)


@dataclass(frozen=True, order=True)
class Window:
    start: date
    end: date  # inclusive: the due date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def _month_window(day: date) -> Window:
    start = day.replace(day=1)
    next_month = (start + timedelta(days=32)).replace(day=1)
    return Window(start, next_month - timedelta(days=1))


def _week_window(day: date) -> Window:
    start = day - timedelta(days=day.weekday())  # Monday
    return Window(start, start + timedelta(days=6))


def _term_window(year: int, term: Term) -> Window:
    start = date(year, term.start_month, term.start_day)
    wraps = (term.end_month, term.end_day) < (term.start_month, term.start_day)
    return Window(start, date(year + 1 if wraps else year, term.end_month, term.end_day))


def windows_from(period: Period, first_day: date, terms: tuple[Term, ...]) -> Iterator[Window]:
    """Every window of `period` that ends on or after `first_day`, in order (endless)."""
    if period == "off":
        return
    if period == "term":
        ordered = sorted(terms, key=lambda term: (term.start_month, term.start_day))
        year = first_day.year - 1  # a term that began last year may still be running
        while True:
            for term in ordered:
                window = _term_window(year, term)
                if window.end >= first_day:
                    yield window
            year += 1
    step = _week_window if period == "weekly" else _month_window
    window = step(first_day)
    while True:
        yield window
        window = step(window.end + timedelta(days=1))


@dataclass(frozen=True)
class PolicyRule:
    scope_code: str  # '' (everywhere), a county code or a township code
    audience: Audience
    duty_kind: str
    period: Period
    caregiver_kind: str = ""  # '' every kind, else one (caring_mother: 爱心妈妈)
    role: Role = "lead"       # the caregiver's role in the pairing


def resolve_periods(rules: Iterable[PolicyRule], *, county_code: str, township_code: str,
                    priority: bool, caregiver_kind: str | None = None, role: str = "lead") -> dict[str, Period]:
    """The period of each duty kind for one pairing (its child, its caregiver's kind and
    role). Only rules for the pairing's role apply: a helper owes only what helper rules say.

    A rule for the caregiver's kind beats a rule for every kind (an 爱心妈妈 talks weekly
    because she is one, whatever the child); then a rule for priority children beats a rule
    for all children (wherever each was set), because a county that asks for weekly talks
    with its priority children means it even where a township relaxed the general rule;
    among the rest the most specific scope wins: township over county over the default.
    """
    specificity = {"": 0, county_code: 1, township_code: 2}
    best: dict[str, tuple[tuple[int, int, int], Period]] = {}
    for rule in rules:
        if rule.scope_code not in specificity or rule.role != role:
            continue
        if rule.audience == "priority" and not priority:
            continue
        if rule.caregiver_kind and rule.caregiver_kind != caregiver_kind:
            continue
        rank = (1 if rule.caregiver_kind else 0, 1 if rule.audience == "priority" else 0,
                specificity[rule.scope_code])
        current = best.get(rule.duty_kind)
        if current is None or rank > current[0]:
            best[rule.duty_kind] = (rank, rule.period)
    return {kind: period for kind, (_, period) in best.items() if period != "off"}


def first_counted_window(window: Window, started_on: date) -> bool:
    """Does a pairing that started on `started_on` owe a duty in `window`?

    A window that began before the pairing counts only if at least half of it remains:
    a caregiver paired on the 28th does not owe that month's home visit by the 31st.
    """
    if window.start >= started_on:
        return True
    total = (window.end - window.start).days + 1
    remaining = (window.end - started_on).days + 1
    return remaining * 2 >= total


def desired_windows(period: Period, *, started_on: date, ended_on: date | None, from_day: date,
                    as_of: date, terms: tuple[Term, ...]) -> list[Window]:
    """The windows a pairing owes a duty in: those ending on or after `from_day`
    (history before it is settled), up to the one after the window containing `as_of`
    (the horizon: this period and the next), within the pairing's life."""
    floor = max(from_day, started_on)
    result = []
    after_current = 0
    for window in windows_from(period, floor, terms):
        if ended_on is not None and window.start > ended_on:
            break
        if window.start > as_of:
            after_current += 1
            if after_current > 1:
                break
        if not first_counted_window(window, started_on):
            continue
        if ended_on is not None and window.end > ended_on:
            continue  # ended mid-window: whoever takes over owes it
        result.append(window)
    return result


def overdue_level(days_overdue: int, *, school_after: int, county_after: int) -> int:
    """0 not overdue, 1 caregiver, 2 school or township staff, 3 county."""
    if days_overdue <= 0:
        return 0
    if days_overdue >= county_after:
        return 3
    if days_overdue >= school_after:
        return 2
    return 1


def level_name(level: int, school_id: str | None) -> str:
    if level == 2:
        return "school" if school_id else "township"
    return OVERDUE_LEVELS[level]


def duty_event(event_class: type[Event], duty: Mapping[str, Any], **facts: Any) -> Event:
    """A duty event (DutyScheduled, DutyFulfilled, DutyCancelled…) from a duty row, so that
    every change of a duty's state reaches subscribers with the facts of the duty."""
    return event_class(child_id=duty["child_id"], duty_id=duty["id"], caregiver_id=duty["caregiver_id"],
                       duty_kind=duty["duty_kind"], due_on=duty["due_on"], school_id=duty["school_id"],
                       jurisdiction=Jurisdiction(county_code=duty["county_code"], township_code=duty["township_code"],
                                                 village_code=duty["village_code"]), **facts)

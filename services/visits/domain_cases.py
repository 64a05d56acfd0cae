"""The case a concern becomes, as pure rules: which step may follow which, the deadline of
each state, and the rung of the ladder a missed deadline has reached. No I/O.

States: open (raised) → acknowledged → referred → accepted (by an agency, with its case
number) → following_up (dated notes) → closed (with an outcome). The API calls the raised
state `open`, as it did before cases existed; events call it `raised`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from shared.contracts import ConcernStateChanged, Jurisdiction
from shared.rules import RuleViolation

STATES = ("open", "acknowledged", "referred", "accepted", "following_up", "closed")
# 结案: what came of the case. "other" must say what in the closing note.
OUTCOMES = ("resolved", "protected", "guardianship_changed", "prosecuted", "unfounded", "moved_away", "other")
AGENCY_KINDS = ("police", "civil_affairs", "womens_federation", "education", "procuratorate", "hospital",
                "legal_aid", "other")
# The ladder of a missed deadline: the township that holds the case, then the county.
DEADLINE_LEVELS = ("township", "county")

_REFERABLE = ("acknowledged", "referred")
_NOTED = ("acknowledged", "referred", "accepted", "following_up")
_CLOSABLE = ("acknowledged", "referred", "accepted", "following_up")


def _refuse_unless(state: str, allowed: tuple[str, ...], step: str) -> None:
    if state not in allowed:
        raise RuleViolation("concern", f"a concern in state {state} cannot be {step}", status_code=409)


def deadline(state: str, *, since: datetime, mandatory_report: bool, hours: dict[str, float],
             mandatory_hours: dict[str, float]) -> datetime | None:
    """When the step after `state` is due; None for a state without one (closed, or a state
    the county set no deadline for). A mandatory report never waits longer than its own limit."""
    limit = hours.get(state)
    if mandatory_report and state in mandatory_hours:
        limit = mandatory_hours[state] if limit is None else min(limit, mandatory_hours[state])
    return None if limit is None else since + timedelta(hours=limit)


def refer(state: str, *, agencies: tuple[str, ...], already: frozenset[str], active: frozenset[str]) -> str:
    """Referring to more agencies: from acknowledged (→ referred) or while referred."""
    _refuse_unless(state, _REFERABLE, "referred")
    if not agencies:
        raise RuleViolation("agencies", "name at least one agency")
    for code in agencies:
        if code not in active:
            raise RuleViolation("agencies", "is not an active agency of this county")
        if code in already:
            raise RuleViolation("agencies", "was referred to already", status_code=409)
    return "referred"


def accept(state: str, *, agency: str, referred: frozenset[str], accepted: frozenset[str]) -> str:
    """An agency accepted the referral. The first acceptance moves the case to accepted; a
    second agency's acceptance is recorded and leaves the state as it is."""
    _refuse_unless(state, ("referred", "accepted", "following_up"), "accepted by an agency")
    if agency not in referred:
        raise RuleViolation("agency", "the concern was not referred to this agency")
    if agency in accepted:
        raise RuleViolation("agency", "this agency accepted the concern already", status_code=409)
    return "accepted" if state == "referred" else state


def note(state: str) -> str:
    """A dated follow-up note; the first one after acceptance starts the follow-up."""
    _refuse_unless(state, _NOTED, "noted")
    return "following_up" if state == "accepted" else state


def close(state: str, *, mandatory_report: bool, outcome: str, has_note: bool, referred: bool) -> str:
    _refuse_unless(state, _CLOSABLE, "closed")
    if mandatory_report and not referred:
        # 强制报告: suspected abuse, neglect or violence is closed only after it was reported.
        raise RuleViolation("concern", "a mandatory-report concern must be referred before it is closed",
                            status_code=409)
    if outcome == "other" and not has_note:
        raise RuleViolation("note", "say what the outcome was when it is other")
    return "closed"


def state_changed(*, child_id: UUID, concern_id: UUID, state: str, at: datetime, due: datetime | None,
                  mandatory_report: bool, jurisdiction: Jurisdiction) -> ConcernStateChanged:
    return ConcernStateChanged(child_id=child_id, concern_id=concern_id,
                               state="raised" if state == "open" else state,  # type: ignore[arg-type]
                               changed_at=at, deadline=due, mandatory_report=mandatory_report,
                               jurisdiction=jurisdiction)


def deadline_level(*, due: datetime, at: datetime, county_after_hours: float) -> int:
    """How far up the ladder a missed deadline has gone by `at`: 0 not missed, 1 township,
    2 county."""
    if at < due:
        return 0
    return 2 if at >= due + timedelta(hours=county_after_hours) else 1

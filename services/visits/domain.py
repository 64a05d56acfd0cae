"""Contact and concern rules, pure: no I/O. They return the events a change publishes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from shared.contracts import ConcernAcknowledged, ConcernRaised, Jurisdiction, VisitLogged
from shared.rules import RuleViolation

# Who handles concerns and cases (school staff raise them; the township and county act);
# who sets a county's policies and vocabularies.
CONCERN_HANDLERS = ("admin", "county_staff", "township_staff")
POLICY_EDITORS = ("admin", "county_staff")
CALL_KINDS = ("parent_call", "parent_video")
CONCERN_CATEGORIES = ("safety_hazard", "suspected_abuse", "neglect", "violence", "health",
                      "psychological_distress", "left_school")
# 强制报告: suspected abuse, neglect or violence against a minor must be reported (to the
# police, civil affairs or another of the county's agencies); these categories start that path.
MANDATORY_REPORT_CATEGORIES = frozenset({"suspected_abuse", "neglect", "violence"})


@dataclass(frozen=True)
class NewConcern:
    id: UUID
    category: str
    severity: str
    detail: str | None = None

    @property
    def mandatory_report(self) -> bool:
        return self.category in MANDATORY_REPORT_CATEGORIES


@dataclass(frozen=True)
class NewContact:
    id: UUID
    child_id: UUID
    caregiver_id: UUID
    kind: str
    occurred_at: datetime
    other_caregiver_ids: tuple[UUID, ...] = ()
    concerns: tuple[NewConcern, ...] = field(default=())
    call_initiated_by: str | None = None
    call_minutes: int | None = None


def log_contact(contact: NewContact, *, child_status: str, jurisdiction: Jurisdiction, now: datetime,
                clock_skew: timedelta = timedelta(minutes=5)) -> VisitLogged:
    """Checks a new contact; returns its VisitLogged (concern events: `concerns_raised`)."""
    if contact.occurred_at > now + clock_skew:
        raise RuleViolation("occurred_at", "is in the future")
    if child_status == "closed":
        raise RuleViolation("child_id", "the child's record is closed", status_code=409)
    if contact.caregiver_id in contact.other_caregiver_ids:
        raise RuleViolation("other_caregiver_ids", "must not repeat caregiver_id")
    has_call = contact.call_initiated_by is not None or contact.call_minutes is not None
    if has_call and contact.kind not in CALL_KINDS:
        raise RuleViolation("call", f"only for {' and '.join(CALL_KINDS)}")
    return VisitLogged(
        child_id=contact.child_id, contact_id=contact.id, caregiver_id=contact.caregiver_id,
        kind=contact.kind, occurred_at=contact.occurred_at, jurisdiction=jurisdiction,
        concern_raised=bool(contact.concerns),
    )


def concerns_raised(contact: NewContact, *, jurisdiction: Jurisdiction, now: datetime) -> list[ConcernRaised]:
    """One ConcernRaised per concern: how urgent, whether mandatory — never its nature.
    The escalation clock starts when the system learns of it (now), not at occurred_at."""
    return [ConcernRaised(
        child_id=contact.child_id, concern_id=concern.id, contact_id=contact.id, severity=concern.severity,
        mandatory_report=concern.mandatory_report, raised_at=now, jurisdiction=jurisdiction,
        escalation_level="township",
    ) for concern in contact.concerns]


def acknowledge(*, child_id: UUID, concern_id: UUID, status: str, referred_to: tuple[str, ...],
                mandatory_report: bool, jurisdiction: Jurisdiction, now: datetime) -> ConcernAcknowledged:
    if status != "open":
        raise RuleViolation("concern", "this concern was acknowledged already", status_code=409)
    if mandatory_report and not referred_to:
        # 强制报告: acknowledging suspected abuse means saying whom it was reported to.
        raise RuleViolation("referred_to", "a mandatory-report concern must name where it was referred")
    return ConcernAcknowledged(child_id=child_id, concern_id=concern_id, acknowledged_at=now,
                               referred=bool(referred_to), jurisdiction=jurisdiction)


def concern_escalation_due(*, raised_at: datetime, severity: str, mandatory_report: bool, as_of: datetime,
                           hours_by_severity: dict[str, float], mandatory_hours: float) -> bool:
    """Has an unacknowledged concern waited long enough to go up to the county?"""
    hours = hours_by_severity.get(severity, 24.0)
    if mandatory_report:
        hours = min(hours, mandatory_hours)
    return as_of >= raised_at + timedelta(hours=hours)

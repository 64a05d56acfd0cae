"""Visits rules, pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from shared.contracts import Jurisdiction, VisitLogged

# Phones' clocks drift; a contact a few minutes "in the future" is a clock, not a lie.
CLOCK_SKEW = timedelta(minutes=5)


class RuleViolation(ValueError):
    def __init__(self, field: str, reason: str, status_code: int = 422) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.status_code = status_code


@dataclass(frozen=True)
class NewContact:
    id: UUID
    child_id: UUID
    caregiver_id: UUID
    kind: str
    occurred_at: datetime


def log_contact(contact: NewContact, *, child_status: str, jurisdiction: Jurisdiction,
                now: datetime) -> VisitLogged:
    if contact.occurred_at > now + CLOCK_SKEW:
        raise RuleViolation("occurred_at", "is in the future")
    if child_status == "closed":
        raise RuleViolation("child_id", "the child's record is closed", status_code=409)
    return VisitLogged(
        child_id=contact.child_id, contact_id=contact.id, caregiver_id=contact.caregiver_id,
        kind=contact.kind, occurred_at=contact.occurred_at, jurisdiction=jurisdiction,
        concern_raised=False,
    )

"""Notify rules, pure: which notifications an event produces."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from shared.contracts import VisitLogged

_NOTIFICATION_NAMESPACE = UUID("5a1c3f0e-7b7e-4c55-9b1e-2f0b2d6b9a11")


@dataclass(frozen=True)
class PlannedNotification:
    id: UUID
    source_event_id: UUID
    recipient_kind: str
    recipient_id: str
    channel: str
    template: str
    child_id: UUID


def plan_for_visit(event_id: UUID, visit: VisitLogged) -> list[PlannedNotification]:
    """A logged contact is acknowledged to its caregiver in the in-app inbox.

    The id is derived from (event, recipient, channel), so planning twice gives the same row.
    """
    recipient = str(visit.caregiver_id)
    return [PlannedNotification(
        id=uuid5(_NOTIFICATION_NAMESPACE, f"{event_id}/caregiver/{recipient}/in_app"),
        source_event_id=event_id, recipient_kind="caregiver", recipient_id=recipient,
        channel="in_app", template="contact_logged", child_id=visit.child_id,
    )]

"""Notify's routing rules, pure: what an event asks for, and which messages that makes.

An event becomes a `Routing` (who could be told, with which variables, how urgent); the
county's rules say which audiences are told on which channels with which template; the
recipients found for each audience (by the store) and their preferences turn that into
`PlannedNotification`s, one per (event, recipient, channel). Ids are derived from that
triple, so planning the same event twice plans the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any, Sequence, get_args
from uuid import UUID, uuid5

from shared.clock import DEFAULT_COUNTY_TIMEZONE
from shared.contracts.events import ContactChannel, DeliveryChannel, RecipientKind
from shared.contracts import (
    ConcernAcknowledged, ConcernDeadlineMissed, ConcernEscalated, ConcernRaised, ContactOverdue, DutyDueSoon,
    DutyScheduled, Event, PairingCreated, PairingEnded, VisitLogged,
)

_NOTIFICATION_NAMESPACE = UUID("5a1c3f0e-7b7e-4c55-9b1e-2f0b2d6b9a11")

# The channels are the contract's (shared/contracts/events.py); every list here derives from them.
CHANNELS: tuple[str, ...] = get_args(DeliveryChannel)
PUSH_CHANNELS = tuple(channel for channel in get_args(ContactChannel) if channel != "in_app")
AUDIENCES = ("caregiver", "guardian", "school_staff", "township_staff", "county_staff", "on_duty")
RECIPIENT_KINDS: tuple[str, ...] = get_args(RecipientKind)
ROUTED_EVENTS = ("VisitLogged", "DutyDueSoon", "ContactOverdue", "ConcernRaised", "ConcernEscalated",
                 "ConcernAcknowledged", "ConcernDeadlineMissed", "PairingCreated", "PairingEnded", "DutyScheduled")
# The audiences `routing_for` can address for each event: a rule for any other pair would be
# stored and never act (a visit has no guardian to tell), so it is refused.
ACTIONABLE_AUDIENCES: dict[str, tuple[str, ...]] = {
    "VisitLogged": ("caregiver",),
    "DutyDueSoon": ("caregiver",),
    "ContactOverdue": ("caregiver", "school_staff", "township_staff", "county_staff"),
    "ConcernRaised": ("on_duty",),
    "ConcernEscalated": ("on_duty",),
    "ConcernAcknowledged": ("on_duty",),
    "ConcernDeadlineMissed": ("on_duty",),
    "PairingCreated": ("caregiver", "guardian"),
    "PairingEnded": ("caregiver", "guardian"),
    "DutyScheduled": ("guardian",),  # a home visit owed: the family is told it is coming
}


@dataclass(frozen=True)
class Rule:
    event_type: str
    audience: str
    template: str
    channels: tuple[str, ...]
    enabled: bool = True


# What every county starts with (county_code ''); a county overrides any row over the admin API.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("VisitLogged", "caregiver", "contact_logged", ("in_app",)),
    # Caregivers are reached in the app and by SMS or email: WeCom / DingTalk here are group
    # robots, which suit staff groups, not a reminder meant for one person.
    Rule("DutyDueSoon", "caregiver", "duty_due_soon", ("in_app", "sms", "email")),
    Rule("ContactOverdue", "caregiver", "contact_overdue", ("in_app", "sms", "email")),
    Rule("ContactOverdue", "school_staff", "contact_overdue_staff", ("in_app", "wecom", "dingtalk", "email", "sms")),
    Rule("ContactOverdue", "township_staff", "contact_overdue_staff", ("in_app", "wecom", "dingtalk", "email", "sms")),
    Rule("ContactOverdue", "county_staff", "contact_overdue_staff", ("in_app", "wecom", "dingtalk", "email", "sms")),
    Rule("ConcernRaised", "on_duty", "concern_raised", ("in_app", "sms", "wecom", "dingtalk", "email")),
    Rule("ConcernEscalated", "on_duty", "concern_escalated", ("in_app", "sms", "wecom", "dingtalk", "email")),
    Rule("ConcernAcknowledged", "on_duty", "concern_acknowledged", ("in_app",)),
    # A concern's case past the deadline of its step: the township on duty, then the county.
    Rule("ConcernDeadlineMissed", "on_duty", "concern_deadline_missed", ("in_app", "sms", "wecom", "dingtalk", "email")),
    Rule("PairingCreated", "caregiver", "pairing_created", ("in_app", "sms", "email")),
    Rule("PairingEnded", "caregiver", "pairing_ended", ("in_app",)),
    # Guardians are told only where a county switches this on (an SMS to a grandparent).
    Rule("PairingCreated", "guardian", "pairing_created_guardian", ("sms",), enabled=False),
    Rule("PairingEnded", "guardian", "pairing_ended_guardian", ("sms",), enabled=False),
    # A home visit owed this period: the family members who agreed hear that the teacher
    # will come (off until a county switches it on, like the pairing notices).
    Rule("DutyScheduled", "guardian", "home_visit_scheduled_guardian", ("sms",), enabled=False),
)


@dataclass(frozen=True)
class Routing:
    """What one event asks for, before rules and recipients are known."""

    event_type: str
    audiences: tuple[str, ...]
    variables: dict[str, Any]
    child_id: UUID
    county_code: str
    township_code: str
    village_code: str | None
    school_id: str | None
    caregiver_id: str | None = None
    duty_level: str = "township"   # where the on-duty roster is looked up
    urgent: bool = False           # exempt from quiet hours and opt-out
    mandatory: bool = False        # a mandatory-report alert: never opted out of


def _short_ref(value: UUID) -> str:
    return value.hex[:8]


def routing_for(event: Event, school_id: str | None = None) -> Routing | None:
    """The routing an event asks for; None for events notify does not message about."""
    j = event.jurisdiction  # type: ignore[attr-defined]
    base = dict(child_id=event.child_id, county_code=j.county_code,  # type: ignore[attr-defined]
                township_code=j.township_code, village_code=j.village_code,
                school_id=getattr(event, "school_id", None) or school_id)
    if isinstance(event, VisitLogged):
        return Routing("VisitLogged", ("caregiver",), {"kind": event.kind},
                       caregiver_id=str(event.caregiver_id), **base)
    if isinstance(event, DutyDueSoon):
        return Routing("DutyDueSoon", ("caregiver",), {"duty": event.duty_kind, "due_on": event.due_on.isoformat()},
                       caregiver_id=str(event.caregiver_id), **base)
    if isinstance(event, ContactOverdue):
        audience = "caregiver" if event.escalation_level == "caregiver" else f"{event.escalation_level}_staff"
        # The caregiver's id (opaque), so that staff escalations can name who is responsible,
        # asked of pairing when the message is sent or read.
        return Routing("ContactOverdue", (audience,), {
            "duty": event.duty_kind, "due_on": event.due_on.isoformat(), "days_overdue": event.days_overdue,
            "level": event.escalation_level, "ref": _short_ref(event.duty_id),
            "caregiver_id": str(event.caregiver_id)},
            caregiver_id=str(event.caregiver_id), **base)
    if isinstance(event, (ConcernRaised, ConcernEscalated)):
        urgent = event.severity == "urgent" or event.mandatory_report
        variables = {"severity": event.severity, "ref": _short_ref(event.concern_id),
                     "mandatory": event.mandatory_report, "level": event.escalation_level}
        return Routing(event.name, ("on_duty",), variables, duty_level=event.escalation_level,
                       urgent=urgent, mandatory=event.mandatory_report, **base)
    if isinstance(event, ConcernDeadlineMissed):
        variables = {"severity": event.severity, "ref": _short_ref(event.concern_id), "state": event.state,
                     "mandatory": event.mandatory_report, "level": event.escalation_level}
        return Routing(event.name, ("on_duty",), variables, duty_level=event.escalation_level,
                       urgent=event.mandatory_report, mandatory=event.mandatory_report, **base)
    if isinstance(event, ConcernAcknowledged):
        return Routing("ConcernAcknowledged", ("on_duty",), {"ref": _short_ref(event.concern_id)}, **base)
    if isinstance(event, PairingCreated):
        return Routing("PairingCreated", ("caregiver", "guardian"),
                       {"started_on": event.started_on.isoformat(), "caregiver_id": str(event.caregiver_id)},
                       caregiver_id=str(event.caregiver_id), **base)
    if isinstance(event, DutyScheduled):
        if event.duty_kind != "home_visit":
            return None
        return Routing("DutyScheduled", ("guardian",),
                       {"due_on": event.due_on.isoformat(), "caregiver_id": str(event.caregiver_id)},
                       caregiver_id=str(event.caregiver_id), **base)
    if isinstance(event, PairingEnded):
        return Routing("PairingEnded", ("caregiver", "guardian"), {"ended_on": event.ended_on.isoformat()},
                       caregiver_id=str(event.caregiver_id), **base)
    return None


@dataclass(frozen=True)
class Preferences:
    channels: tuple[str, ...] | None = None  # in the order the recipient prefers; None = any
    opt_out_non_urgent: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None
    timezone: str = DEFAULT_COUNTY_TIMEZONE  # handlers pass the configured county zone


@dataclass(frozen=True)
class Recipient:
    kind: str                       # caregiver | staff | guardian | system
    id: str
    available: tuple[str, ...]      # channels this recipient can be reached on
    preferences: Preferences = field(default_factory=Preferences)


@dataclass(frozen=True)
class PlannedNotification:
    id: UUID
    source_event_id: UUID
    event_type: str
    recipient_kind: str
    recipient_id: str
    channel: str
    template: str
    child_id: UUID | None
    variables: dict[str, Any]
    urgent: bool
    quiet_start: time | None
    quiet_end: time | None
    quiet_timezone: str | None
    payload: dict[str, Any] | None = None


def notification_id(event_id: UUID, recipient_kind: str, recipient_id: str, channel: str) -> UUID:
    return uuid5(_NOTIFICATION_NAMESPACE, f"{event_id}/{recipient_kind}/{recipient_id}/{channel}")


def choose_channels(rule_channels: Sequence[str], recipient: Recipient, *, urgent: bool) -> list[str]:
    """In-app whenever the rule has it; then one push channel, the recipient's favourite that
    the rule allows — or, for an urgent alert, every push channel the recipient has.

    Opting out of non-urgent messages leaves the in-app inbox (a record, never a disturbance).
    """
    allowed = [c for c in rule_channels if c in recipient.available]
    chosen = ["in_app"] if "in_app" in allowed else []
    push = [c for c in allowed if c in PUSH_CHANNELS]
    prefs = recipient.preferences
    if urgent:
        return chosen + push
    if prefs.opt_out_non_urgent:
        return chosen
    if prefs.channels is not None:
        push = [c for c in prefs.channels if c in push]
    return chosen + push[:1]


def plan(event_id: UUID, routing: Routing, rule: Rule, recipients: Sequence[Recipient],
         default_quiet: dict[str, tuple[time, time] | None]) -> list[PlannedNotification]:
    planned = []
    for recipient in recipients:
        for channel in choose_channels(rule.channels, recipient, urgent=routing.urgent):
            quiet = _quiet_hours(recipient, channel, routing.urgent, default_quiet)
            planned.append(PlannedNotification(
                id=notification_id(event_id, recipient.kind, recipient.id, channel),
                source_event_id=event_id, event_type=routing.event_type, recipient_kind=recipient.kind,
                recipient_id=recipient.id, channel=channel, template=rule.template, child_id=routing.child_id,
                variables=routing.variables, urgent=routing.urgent,
                quiet_start=quiet[0] if quiet else None, quiet_end=quiet[1] if quiet else None,
                quiet_timezone=recipient.preferences.timezone if quiet else None,
            ))
    return planned


def _quiet_hours(recipient: Recipient, channel: str, urgent: bool,
                 default_quiet: dict[str, tuple[time, time] | None]) -> tuple[time, time] | None:
    if urgent or channel == "in_app":
        return None
    prefs = recipient.preferences
    if prefs.quiet_start is not None and prefs.quiet_end is not None:
        return prefs.quiet_start, prefs.quiet_end
    return default_quiet.get(recipient.kind)


def plan_webhooks(event_id: UUID, event_type: str, child_id: UUID | None, subscription_ids: Sequence[str],
                  payload: dict[str, Any]) -> list[PlannedNotification]:
    """Other systems subscribed to this event type get it as a CloudEvent, never quieted."""
    return [PlannedNotification(
        id=notification_id(event_id, "system", sid, "webhook"), source_event_id=event_id, event_type=event_type,
        recipient_kind="system", recipient_id=sid, channel="webhook", template=f"event:{event_type}"[:64],
        child_id=child_id, variables={}, urgent=False, quiet_start=None, quiet_end=None, quiet_timezone=None,
        payload=payload,
    ) for sid in subscription_ids]

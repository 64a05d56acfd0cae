"""Event models. Past-tense names, one class per (name, version).

Rules every event here follows (see ARCHITECTURE.md):
- no name, national ID number, phone, address, free text, observation, concern nature or
  sensitive category: opaque ids, jurisdiction codes and the facts a subscriber needs; a
  subscriber that needs personal details asks the owning service's API with its own
  authorisation;
- changes are additive: a new field is optional with a default; anything else is a new
  class with `version = 2`, published beside the old one;
- consumers are tolerant readers: unknown fields are ignored (extra="ignore"), so a
  producer may add a field before every consumer knows it;
- the Kafka key (and CloudEvents subject) is the child id for everything about a child, so
  one child's events stay in order; caregiver events are keyed by caregiver id and
  notification outcomes by notification id (`key_field`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

REGISTRY_TOPIC = "shouhu.registry.events.v1"
PAIRING_TOPIC = "shouhu.pairing.events.v1"
VISITS_TOPIC = "shouhu.visits.events.v1"
NOTIFY_TOPIC = "shouhu.notify.events.v1"
TOPICS = (REGISTRY_TOPIC, PAIRING_TOPIC, VISITS_TOPIC, NOTIFY_TOPIC)

_CODE12 = r"^\d{12}$"


class Event(BaseModel):
    """Base of every event."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ClassVar[str]
    version: ClassVar[int] = 1
    topic: ClassVar[str]
    source: ClassVar[str]
    key_field: ClassVar[str] = "child_id"

    @classmethod
    def cloudevent_type(cls) -> str:
        return f"cn.shouhu.{cls.name}.v{cls.version}"

    def partition_key(self) -> str:
        """The Kafka key and the CloudEvents subject."""
        return str(getattr(self, self.key_field))


class Jurisdiction(BaseModel):
    """Where a child lives, as 12-digit statistical division codes (county → village)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    county_code: str = Field(pattern=_CODE12)
    township_code: str = Field(pattern=_CODE12)
    village_code: str | None = Field(default=None, pattern=_CODE12)


AgeBand = Literal["0-5", "6-11", "12-13", "14-15", "16-17", "18+", "unknown"]
ChildStatus = Literal["active", "transferred", "closed"]
# The categories an event may carry. The sensitive ones (incarcerated parent, HIV, drug
# use, violence, street child) never leave the registry.
PublicCategory = Literal["left_behind", "migrant", "orphan", "de_facto_unsupported", "disabled"]
# one_parent_away_other_able (单亲外出): one parent away, the other at home and able to care.
LeftBehindType = Literal["both_parents_away", "one_parent_away_other_unable", "not_left_behind",
                         "one_parent_away_other_able"]
CloseReason = Literal["parents_returned", "aged_out", "moved_away", "other"]


# -- registry ---------------------------------------------------------------------------

class _ChildFacts(Event):
    """What every registry event says of the child, as it is after the change, so that a
    projection can be rebuilt from any one event (newest record_version wins)."""

    topic: ClassVar[str] = REGISTRY_TOPIC
    source: ClassVar[str] = "/shouhu/registry"

    child_id: UUID
    jurisdiction: Jurisdiction
    school_id: str | None = None
    categories: tuple[PublicCategory, ...] = ()
    left_behind_type: LeftBehindType | None = None
    priority: bool = False
    age_band: AgeBand = "unknown"
    status: ChildStatus = "active"
    record_version: int = Field(ge=1)


class ChildRegistered(_ChildFacts):
    name: ClassVar[str] = "ChildRegistered"


class ChildUpdated(_ChildFacts):
    """The child's record changed; carries the facts as they are now."""

    name: ClassVar[str] = "ChildUpdated"


class ChildTransferred(_ChildFacts):
    """The child moved to another school or township; `jurisdiction`/`school_id` are the new ones."""

    name: ClassVar[str] = "ChildTransferred"

    from_jurisdiction: Jurisdiction
    from_school_id: str | None = None


class ChildClosed(_ChildFacts):
    """The record was closed (parents returned, aged out, moved away)."""

    name: ClassVar[str] = "ChildClosed"

    reason: CloseReason


class ChildReopened(_ChildFacts):
    name: ClassVar[str] = "ChildReopened"


class ChildErased(Event):
    """The county's retention period for this child's record ended (closed or aged out N
    years ago): the registry erased or anonymised the personal fields, and every service that
    holds personal data about the child does the same with its own. Carries the id alone."""

    name: ClassVar[str] = "ChildErased"
    topic: ClassVar[str] = REGISTRY_TOPIC
    source: ClassVar[str] = "/shouhu/registry"

    child_id: UUID
    # purge: the record is deleted (a tombstone of non-personal facts stays); anonymise: the
    # record stays, its personal fields cleared. Downstream, both mean: clear what you hold.
    action: Literal["purge", "anonymise"] = "anonymise"


class ExpectedCountSet(Event):
    """How many children a township or a school is expected to register (from the survey):
    what 建档率 is measured against. Keyed by `code` (a township code or a school id)."""

    name: ClassVar[str] = "ExpectedCountSet"
    topic: ClassVar[str] = REGISTRY_TOPIC
    source: ClassVar[str] = "/shouhu/registry"
    key_field: ClassVar[str] = "code"

    kind: Literal["township", "school"]
    code: str = Field(min_length=1, max_length=64)
    township_code: str = Field(pattern=_CODE12)
    expected: int = Field(ge=0)


# -- pairing ----------------------------------------------------------------------------

CaregiverKind = Literal[
    "teacher", "class_teacher", "volunteer", "caring_mother", "party_member", "village_official",
    "children_director", "student_buddy",
]
ContactChannel = Literal["sms", "email", "wecom", "dingtalk", "in_app"]
DeliveryChannel = Literal["sms", "email", "wecom", "dingtalk", "in_app", "webhook"]


class _CaregiverFacts(Event):
    topic: ClassVar[str] = PAIRING_TOPIC
    source: ClassVar[str] = "/shouhu/pairing"
    key_field: ClassVar[str] = "caregiver_id"

    caregiver_id: UUID
    kind: CaregiverKind
    jurisdiction: Jurisdiction
    school_id: str | None = None
    capacity: int = Field(ge=0)
    active: bool = True
    # Which channels the caregiver can be reached on, never the addresses themselves:
    # notify fetches those from pairing's API when it sends.
    channels: tuple[ContactChannel, ...] = ()
    record_version: int = Field(ge=1)


class CaregiverEnrolled(_CaregiverFacts):
    name: ClassVar[str] = "CaregiverEnrolled"


class CaregiverUpdated(_CaregiverFacts):
    name: ClassVar[str] = "CaregiverUpdated"


PairingRole = Literal["lead", "helper"]
PairingEndReason = Literal[
    "child_closed", "child_transferred", "caregiver_inactive", "reassigned", "capacity_change", "other",
]


class _PairingFacts(Event):
    """Who is paired with whom, and where: what both pairing events say."""

    topic: ClassVar[str] = PAIRING_TOPIC
    source: ClassVar[str] = "/shouhu/pairing"

    child_id: UUID
    pairing_id: UUID
    caregiver_id: UUID
    role: PairingRole = "lead"
    jurisdiction: Jurisdiction


class PairingCreated(_PairingFacts):
    name: ClassVar[str] = "PairingCreated"

    school_id: str | None = None
    priority: bool = False
    started_on: date


class PairingEnded(_PairingFacts):
    name: ClassVar[str] = "PairingEnded"

    ended_on: date
    reason: PairingEndReason


SupportKind = Literal["financial_aid", "in_kind"]


class SupportRecorded(Event):
    """Aid or a gift in kind was given to a child (帮扶资助/慰问), as pairing recorded it: its
    kind, value in fen (for a gift in kind, its value if known, else 0), the day it was given
    and where the child lived then. Never the fund's or item's wording, nor who gave it (free
    text, kept by pairing). duplicate_of: the earlier gift from the same fund in the same
    period, when pairing flagged this one as a second. programme_id: the aid programme
    (资助项目) it was given under, when it came from a programme's distribution list (an
    opaque id) and programme_name, its name as it stood when the aid was given (a county's
    title for the programme, e.g. 2026年春季学期生活补助: no personal data; optional, absent
    from events published before it existed), so that reports names programmes from its
    own read model."""

    name: ClassVar[str] = "SupportRecorded"
    topic: ClassVar[str] = PAIRING_TOPIC
    source: ClassVar[str] = "/shouhu/pairing"

    child_id: UUID
    support_id: UUID
    kind: SupportKind
    amount_fen: int = Field(default=0, ge=0)
    given_on: date
    jurisdiction: Jurisdiction
    school_id: str | None = None
    duplicate_of: UUID | None = None
    programme_id: UUID | None = None
    programme_name: str | None = Field(default=None, max_length=200)


# -- visits -----------------------------------------------------------------------------

ContactKind = Literal[
    "home_visit", "talk", "parent_call", "parent_video", "letter", "health_check",
    "activity", "guardian_training", "guardian_talk",
]
# guardian_talk: a talk with the child's guardian (与监护人谈心), met by a guardian_talk contact;
# plan_review: a review date of a child's plan, met by a progress note recorded as its review;
# follow_up: a follow-up with a due date written on a contact, met when its caregiver marks it done.
DutyKind = Literal["home_visit", "talk", "parent_call", "letter", "guardian_talk", "plan_review", "follow_up"]
EscalationLevel = Literal["caregiver", "school", "township", "county"]
Severity = Literal["low", "medium", "high", "urgent"]


class VisitLogged(Event):
    """A contact with a child was logged. No observations or free text, by design."""

    name: ClassVar[str] = "VisitLogged"
    topic: ClassVar[str] = VISITS_TOPIC
    source: ClassVar[str] = "/shouhu/visits"

    child_id: UUID
    contact_id: UUID
    caregiver_id: UUID
    kind: ContactKind
    occurred_at: datetime
    jurisdiction: Jurisdiction
    concern_raised: bool = False


class _DutyFacts(Event):
    """What every duty event says of the duty instance (one home visit this month…)."""

    topic: ClassVar[str] = VISITS_TOPIC
    source: ClassVar[str] = "/shouhu/visits"

    child_id: UUID
    duty_id: UUID
    caregiver_id: UUID
    duty_kind: DutyKind
    due_on: date
    jurisdiction: Jurisdiction
    school_id: str | None = None


class DutyDueSoon(_DutyFacts):
    """A duty instance falls due soon. Emitted once per instance."""

    name: ClassVar[str] = "DutyDueSoon"


class ContactOverdue(_DutyFacts):
    """A duty instance is overdue; emitted once per instance and escalation level."""

    name: ClassVar[str] = "ContactOverdue"

    days_overdue: int = Field(ge=0)
    escalation_level: EscalationLevel = "caregiver"


class DutyScheduled(_DutyFacts):
    """A duty instance is owed: derived from the duty policy for a lead pairing, owed again
    after a cancellation, or moved with its child (a transfer: the place it has now). Its
    window is `period_start` to `due_on` (inclusive)."""

    name: ClassVar[str] = "DutyScheduled"

    period_start: date


class DutyFulfilled(_DutyFacts):
    """A contact of the right kind, made within the duty's window, met the duty (for a
    plan_review, `contact_id` is the progress note recorded as the review; for a follow_up,
    the contact on which the follow-up was written).
    `fulfilled_at` is when that was recorded: after `due_on` when the contact was logged late."""

    name: ClassVar[str] = "DutyFulfilled"

    contact_id: UUID
    fulfilled_at: datetime


class DutyCancelled(_DutyFacts):
    """The duty is no longer owed (the pairing ended or the child's record closed before it
    fell due, or the policy changed); a duty already late stays owed and is not cancelled."""

    name: ClassVar[str] = "DutyCancelled"

    cancelled_at: datetime


class ConcernRaised(Event):
    """A contact raised a concern. Its nature stays in visits (ask its API, with permission):
    the event says only how urgent it is and whether the mandatory-report path applies."""

    name: ClassVar[str] = "ConcernRaised"
    topic: ClassVar[str] = VISITS_TOPIC
    source: ClassVar[str] = "/shouhu/visits"

    child_id: UUID
    concern_id: UUID
    contact_id: UUID
    severity: Severity
    mandatory_report: bool
    raised_at: datetime
    jurisdiction: Jurisdiction
    escalation_level: EscalationLevel = "township"


class ConcernEscalated(Event):
    """A concern went unacknowledged past its deadline and moved up the ladder."""

    name: ClassVar[str] = "ConcernEscalated"
    topic: ClassVar[str] = VISITS_TOPIC
    source: ClassVar[str] = "/shouhu/visits"

    child_id: UUID
    concern_id: UUID
    severity: Severity
    mandatory_report: bool
    escalation_level: EscalationLevel
    jurisdiction: Jurisdiction


class ConcernAcknowledged(Event):
    name: ClassVar[str] = "ConcernAcknowledged"
    topic: ClassVar[str] = VISITS_TOPIC
    source: ClassVar[str] = "/shouhu/visits"

    child_id: UUID
    concern_id: UUID
    acknowledged_at: datetime
    referred: bool = False
    jurisdiction: Jurisdiction


# A concern's case, after it is raised: acknowledged by staff, referred to agencies, accepted
# by one (with its own case number), followed up with dated notes, closed with an outcome.
ConcernState = Literal["raised", "acknowledged", "referred", "accepted", "following_up", "closed"]


class ConcernStateChanged(Event):
    """A concern's case moved to another state. Only the state and the deadline for the next
    step: the nature, the agencies, case numbers, notes and outcome stay in visits."""

    name: ClassVar[str] = "ConcernStateChanged"
    topic: ClassVar[str] = VISITS_TOPIC
    source: ClassVar[str] = "/shouhu/visits"

    child_id: UUID
    concern_id: UUID
    state: ConcernState
    changed_at: datetime
    deadline: datetime | None = None
    mandatory_report: bool
    jurisdiction: Jurisdiction


class ConcernDeadlineMissed(Event):
    """A concern's case passed the deadline of its state; once per deadline and level of
    the ladder (township, then county)."""

    name: ClassVar[str] = "ConcernDeadlineMissed"
    topic: ClassVar[str] = VISITS_TOPIC
    source: ClassVar[str] = "/shouhu/visits"

    child_id: UUID
    concern_id: UUID
    state: ConcernState
    deadline: datetime
    severity: Severity
    mandatory_report: bool
    escalation_level: EscalationLevel
    jurisdiction: Jurisdiction


class ActivityHeld(Event):
    """A group activity was held (a safety lecture, a guardian class, an afternoon at a
    children's home): its type from the county's vocabulary, where, and how many came.
    No title, place, names or child ids; keyed by the activity."""

    name: ClassVar[str] = "ActivityHeld"
    topic: ClassVar[str] = VISITS_TOPIC
    source: ClassVar[str] = "/shouhu/visits"
    key_field: ClassVar[str] = "activity_id"

    activity_id: UUID
    activity_type: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    held_on: date
    jurisdiction: Jurisdiction
    school_id: str | None = None
    home_id: UUID | None = None
    registered_children: int = Field(ge=0)  # children of the registry who attended
    other_children: int = Field(default=0, ge=0)
    family_members: int = Field(default=0, ge=0)  # guardians and parents who came (家长学校)
    others: int = Field(default=0, ge=0)


# -- notify -----------------------------------------------------------------------------

RecipientKind = Literal["caregiver", "staff", "guardian", "system"]
FailureReason = Literal["provider_error", "timeout", "invalid_address", "rate_limited", "no_address", "other"]


class _NotificationOutcome(Event):
    topic: ClassVar[str] = NOTIFY_TOPIC
    source: ClassVar[str] = "/shouhu/notify"
    key_field: ClassVar[str] = "notification_id"

    notification_id: UUID
    source_event_id: UUID
    child_id: UUID | None = None
    channel: DeliveryChannel
    recipient_kind: RecipientKind
    template: str = Field(max_length=64)


class NotificationSent(_NotificationOutcome):
    """A message went out. No text, no address: which channel, to what kind of recipient."""

    name: ClassVar[str] = "NotificationSent"

    sent_at: datetime
    attempts: int = Field(ge=1)


class NotificationFailed(_NotificationOutcome):
    name: ClassVar[str] = "NotificationFailed"

    reason: FailureReason
    attempts: int = Field(ge=1)
    dead_lettered: bool


class FamilyNoteSent(Event):
    """A caregiver's note (家书短信) went out by SMS to a child's guardian or parent who agreed
    to receive messages. Ids, codes and a kind only: never the words, the number or a name.
    Reports counts these in the work summary."""

    name: ClassVar[str] = "FamilyNoteSent"
    topic: ClassVar[str] = NOTIFY_TOPIC
    source: ClassVar[str] = "/shouhu/notify"

    letter_id: UUID  # the note's id (家书); "note" names free text in an event's fields, which this is not
    notification_id: UUID
    child_id: UUID
    caregiver_id: UUID | None = None
    member_kind: Literal["guardian", "parent"]
    jurisdiction: Jurisdiction
    school_id: str | None = None
    sent_at: datetime


# The explicit registry of every published event. Add new events here.
ALL_EVENTS: tuple[type[Event], ...] = (
    ChildRegistered, ChildUpdated, ChildTransferred, ChildClosed, ChildReopened, ExpectedCountSet, ChildErased,
    CaregiverEnrolled, CaregiverUpdated, PairingCreated, PairingEnded, SupportRecorded,
    VisitLogged, DutyDueSoon, ContactOverdue, DutyScheduled, DutyFulfilled, DutyCancelled,
    ConcernRaised, ConcernEscalated, ConcernAcknowledged, ConcernStateChanged, ConcernDeadlineMissed,
    ActivityHeld,
    NotificationSent, NotificationFailed, FamilyNoteSent,
)

_BY_TYPE = {cls.cloudevent_type(): cls for cls in ALL_EVENTS}


def event_class_for(cloudevent_type: str) -> type[Event] | None:
    return _BY_TYPE.get(cloudevent_type)

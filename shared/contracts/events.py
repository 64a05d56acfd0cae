"""Event models. Past-tense names, one class per (name, version).

Rules every event here follows (see ARCHITECTURE.md):
- no name, national ID number, phone, address, free text or sensitive category: an
  opaque child id, jurisdiction codes and the facts a subscriber needs;
- changes are additive: a new field is optional with a default; anything else is a new
  class with `version = 2`, published beside the old one;
- consumers are tolerant readers: unknown fields are ignored (extra="ignore"), so a
  producer may add a field before every consumer knows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

REGISTRY_TOPIC = "shouhu.registry.child.v1"
PAIRING_TOPIC = "shouhu.pairing.events.v1"
VISITS_TOPIC = "shouhu.visits.contact.v1"
NOTIFY_TOPIC = "shouhu.notify.events.v1"
TOPICS = (REGISTRY_TOPIC, PAIRING_TOPIC, VISITS_TOPIC, NOTIFY_TOPIC)

_CODE12 = r"^\d{12}$"


class Event(BaseModel):
    """Base of every event. `child_id` is the Kafka key: one child's events stay in order."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ClassVar[str]
    version: ClassVar[int] = 1
    topic: ClassVar[str]
    source: ClassVar[str]

    child_id: UUID

    @classmethod
    def cloudevent_type(cls) -> str:
        return f"cn.shouhu.{cls.name}.v{cls.version}"


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


class ChildRegistered(Event):
    name: ClassVar[str] = "ChildRegistered"
    topic: ClassVar[str] = REGISTRY_TOPIC
    source: ClassVar[str] = "/shouhu/registry"

    jurisdiction: Jurisdiction
    school_id: str | None = None
    categories: tuple[PublicCategory, ...] = ()
    priority: bool = False
    age_band: AgeBand = "unknown"
    status: ChildStatus = "active"
    record_version: int = Field(ge=1)


class ChildUpdated(Event):
    """The child's record changed; carries the same facts as ChildRegistered, as they are now."""

    name: ClassVar[str] = "ChildUpdated"
    topic: ClassVar[str] = REGISTRY_TOPIC
    source: ClassVar[str] = "/shouhu/registry"

    jurisdiction: Jurisdiction
    school_id: str | None = None
    categories: tuple[PublicCategory, ...] = ()
    priority: bool = False
    age_band: AgeBand = "unknown"
    status: ChildStatus = "active"
    record_version: int = Field(ge=1)


ContactKind = Literal[
    "home_visit", "talk", "parent_call", "parent_video", "letter", "health_check",
    "activity", "guardian_training",
]


class VisitLogged(Event):
    """A contact with a child was logged. No observations or free text, by design."""

    name: ClassVar[str] = "VisitLogged"
    topic: ClassVar[str] = VISITS_TOPIC
    source: ClassVar[str] = "/shouhu/visits"

    contact_id: UUID
    caregiver_id: UUID
    kind: ContactKind
    occurred_at: datetime
    jurisdiction: Jurisdiction
    concern_raised: bool = False


# The explicit registry of every published event. Add new events here.
ALL_EVENTS: tuple[type[Event], ...] = (ChildRegistered, ChildUpdated, VisitLogged)

_BY_TYPE = {cls.cloudevent_type(): cls for cls in ALL_EVENTS}


def event_class_for(cloudevent_type: str) -> type[Event] | None:
    return _BY_TYPE.get(cloudevent_type)

"""Contact request and response models (input models reject unknown fields)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.clean_text import CleanInput, MultiLineText
from shared.contracts.events import ContactKind, Severity

Place = Literal["home", "school", "childrens_home", "village_office", "phone", "online", "other"]
ConcernCategory = Literal["safety_hazard", "suspected_abuse", "neglect", "violence", "health",
                          "psychological_distress", "left_school"]
Rating = Annotated[int, Field(ge=1, le=5)]

class _Strict(CleanInput):
    model_config = ConfigDict(extra="forbid")


class Ratings(_Strict):
    """Observations on a 1 (serious worry) to 5 (all well) scale."""

    study: Rating | None = None
    daily_life: Rating | None = None
    emotions: Rating | None = None
    safety: Rating | None = None
    health: Rating | None = None


class Location(_Strict):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class CallDetails(_Strict):
    initiated_by: Literal["caregiver", "child", "parent", "guardian"]
    duration_minutes: int = Field(ge=0, le=600)


class FollowUp(_Strict):
    action: MultiLineText = Field(min_length=1, max_length=500)
    due_on: date | None = None


class FollowUpOut(FollowUp):
    """A follow-up as read back: with a due date, it is its caregiver's follow_up duty."""

    duty_id: UUID | None = None
    done: bool = False


class ConcernIn(_Strict):
    category: ConcernCategory
    severity: Severity
    detail: MultiLineText | None = Field(default=None, max_length=2000)


class ContactIn(_Strict):
    id: UUID | None = Field(default=None, description="The client's own id; resending it is a no-op.")
    child_id: UUID
    caregiver_id: UUID = Field(description="The lead caregiver of this contact.")
    other_caregiver_ids: list[UUID] = Field(default_factory=list, max_length=10)
    kind: ContactKind
    occurred_at: AwareDatetime
    place: Place | None = None
    location: Location | None = None
    ratings: Ratings | None = None
    notes: MultiLineText | None = Field(default=None, max_length=4000, description="Free text; encrypted at rest.")
    call: CallDetails | None = None
    follow_ups: list[FollowUp] = Field(default_factory=list, max_length=20)
    concerns: list[ConcernIn] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _distinct_caregivers(self) -> "ContactIn":
        if len(set(self.other_caregiver_ids)) != len(self.other_caregiver_ids):
            raise ValueError("other_caregiver_ids must not repeat")
        return self


class ContactSummary(BaseModel):
    """What anyone allowed to see the contact sees: no free text, no coordinates."""

    id: UUID
    child_id: UUID
    caregiver_id: UUID
    other_caregiver_ids: list[UUID]
    kind: str
    occurred_at: datetime
    logged_at: datetime
    township_code: str
    place: str | None
    ratings: Ratings
    call: CallDetails | None
    concern_ids: list[UUID]


class ContactDetail(ContactSummary):
    """With the sensitive fields, for the author and for staff with view_sensitive."""

    notes: str | None = None
    location: Location | None = None
    follow_ups: list[FollowUpOut] | None = None
    sensitive_included: bool = False

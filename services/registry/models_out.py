"""Response bodies of the registry API, as the OpenAPI document declares them. The routes
build these bodies from the masked views (privacy.view); the models say what a client
gets, masked fields included (null when masked away, a masked string otherwise)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, create_model

from services.registry import child_fields
from services.registry.models import GrowthArea, SensitiveCategory
from shared.contracts import Jurisdiction
from shared.pagination import Page
from shared.contracts.events import CloseReason, PublicCategory

ChildStatus = Literal["active", "transferred", "closed"]


class GuardianOut(BaseModel):
    id: UUID = Field(description="the entry's id: change or remove it by this id")
    relation: str
    relation_word: str | None = Field(default=None, description="the word the county wrote (外祖母…)")
    name: str | None = None
    age: int | None = None
    health: str | None = None
    occupation: str | None = None
    phone: str | None = Field(default=None, description="masked unless shown in clear with a stated purpose")
    address: str | None = Field(default=None, description="masked unless shown in clear with a stated purpose")
    entrusted: bool = False


class ParentOut(BaseModel):
    id: UUID = Field(description="the entry's id: change or remove it by this id")
    relation: str
    name: str | None = None
    work_place: str | None = None
    phone: str | None = Field(default=None, description="masked unless shown in clear with a stated purpose")
    away_since: str | None = Field(default=None, description="a month (2020-02) or a day (2020-02-01)")


# The plain fields (child_fields.py) as every answer carries them.
_PlainOut = create_model("_PlainOut", **child_fields.output_fields())


class ChildOut(_PlainOut):  # type: ignore[misc,valid-type]
    """One child's record. `masked` says whether the sensitive fields were masked."""

    id: UUID
    name: str
    gender: Literal["male", "female"]
    birth_date: date
    national_id: str | None = Field(description="masked (first 6 and last 4) unless shown in clear")
    jurisdiction: Jurisdiction
    school_id: str | None
    address: str | None
    categories: list[PublicCategory]
    sensitive_categories: list[SensitiveCategory] | None = Field(description="only when shown in clear")
    priority_reason: str | None
    guardians: list[GuardianOut]
    parents: list[ParentOut]
    lawful_basis: dict[str, Any]
    particulars: str | None = Field(default=None, description="特殊情况: only when shown in clear")
    status: ChildStatus
    close_reason: CloseReason | None
    version: int = Field(description="also the ETag; send it back in If-Match to change the record")
    masked: bool
    created_at: datetime
    updated_at: datetime


class ChildPage(Page[ChildOut]):
    """Children in the caller's jurisdiction, by id."""


class ChildItems(Page[ChildOut]):
    """Search results, best matches first; pass `next_cursor` as the body's `cursor`."""


class GrowthNoteOut(BaseModel):
    id: UUID
    noted_on: date
    area: GrowthArea


class GrowthNoteShown(GrowthNoteOut):
    author: str
    text: str | None = Field(description="only with view_sensitive and a stated purpose")


class GrowthNotes(Page[GrowthNoteShown]):
    masked: bool


class ImportJobOut(BaseModel):
    id: UUID
    status: str
    file_format: str
    rows_total: int
    rows_done: int
    rows_imported: int
    rows_rejected: int
    rows_existing: int
    rows_changed: int = Field(description="registered children the sheet changes: to confirm (…/changes)")
    rows_conflicting: int = Field(description="rows whose ID is another child's (…/conflicts)")
    failure: str | None
    created_at: datetime
    finished_at: datetime | None
    columns: dict[str, str] = Field(default_factory=dict, description="the sheet's heading → the column it was read as")
    unmapped_columns: list[str] = Field(default_factory=list, description="headings not imported (said, never dropped "
                                                                          "silently)")
    suggested_columns: dict[str, str] = Field(default_factory=dict, description="a heading not recognised → the column "
                                                                                "it may be")
    proposed_mapping: dict[str, str | None] = Field(
        default_factory=dict, description="a heading the county has not confirmed → the column proposed for it "
                                          "(null: not imported); confirm with …/mapping")


class ImportJobs(Page[ImportJobOut]):
    """Imports in the caller's jurisdiction, newest first."""


class RowError(BaseModel):
    row: int
    column: str | None
    reason: str


class RowErrors(Page[RowError]):
    """`limit` counts sheet rows: a row's problems are never split between pages."""

    total_rows: int = Field(description="how many rows of this kind the job has")


class Count(BaseModel):
    key: str | bool | None
    count: int


class Statistics(BaseModel):
    """Counts in scope: `total`, and a list of {key, count} per requested dimension (`by`)."""

    status: str | list[Count] = Field(description="the status filter applied; the counts by status when "
                                                  "by=status was asked for")
    total: int
    township: list[Count] | None = None
    school: list[Count] | None = None
    category: list[Count] | None = None
    gender: list[Count] | None = None
    left_behind_type: list[Count] | None = None
    age_band: list[Count] | None = None
    priority: list[Count] | None = None
    sensitive_category: list[Count] | None = None
    as_of: date | None = Field(None, description="the day the counts are for, when one was asked for")
    school_status: list[Count] | None = Field(default=None, description="在校状态 (for 入学率 and 巩固率)")


class Coverage(BaseModel):
    code: str
    township_code: str
    expected: int
    registered: int
    rate: float | None


class NotReported(BaseModel):
    townships: list[str]
    schools: list[str]


class Completeness(BaseModel):
    townships: list[Coverage]
    schools: list[Coverage]
    not_reported: NotReported
    expected_total: int
    registered_total: int
    rate: float | None
    as_of: date | None = Field(None, description="the day the figures are for, when one was asked for")


class ExpectedCount(BaseModel):
    kind: Literal["township", "school"]
    code: str
    township_code: str
    expected: int


class ExpectedCounts(Page[ExpectedCount]):
    """The expected counts set in the caller's jurisdiction, by kind and code."""


class CardPerson(BaseModel):
    id: str | None = Field(default=None, description="the entry's id (a family member's messages are addressed by it)")
    relation: str | None
    name: str | None
    phone: str | None = Field(description="in clear for the paired caregiver, whose job is to call")


class CardGuardian(CardPerson):
    entrusted: bool


class CardPairing(BaseModel):
    role: str
    since: date


class ChildPlace(BaseModel):
    township_code: str
    township_name: str | None
    village_code: str | None
    village_name: str | None
    school_id: str | None
    school_name: str | None = Field(default=None, description="from the county's school register; none when the "
                                                             "county keeps none or lacks this school")


class ChildCard(BaseModel):
    """What the paired caregiver sees of a child (联系卡): never the national ID, addresses,
    sensitive categories or the priority reason."""
    id: UUID
    name: str
    gender: str
    age: int | None
    school_id: str | None
    grade: str | None
    class_name: str | None
    jurisdiction: Jurisdiction
    guardians: list[CardGuardian]
    parents: list[CardPerson]
    status: ChildStatus
    pairing: CardPairing
    place: ChildPlace | None = Field(default=None, description="the township, village and school by name")


class ChildCards(Page[ChildCard]):
    """The children paired with the caller now."""


class CaregiverGrowthNote(GrowthNoteOut):
    author: str
    text: str


class CaregiverGrowthNotes(Page[CaregiverGrowthNote]):
    """The paired child's growth record, oldest first."""


class ChildNames(BaseModel):
    names: dict[str, str] = Field(description="child id → name, for the children the caller may name")
    places: dict[str, ChildPlace] = Field(default_factory=dict,
                                          description="child id → where the child lives and studies, by name")


class CodeLabel(BaseModel):
    code: str
    label: str = Field(description="the Chinese name a clerk reads")


class VocabularyOut(BaseModel):
    name: str
    zh: str
    en: str
    values: list[CodeLabel]
    synonyms: dict[str, str] = Field(description="other words counties' sheets use → code")


class Vocabularies(BaseModel):
    vocabularies: list[VocabularyOut]

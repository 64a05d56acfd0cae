"""Response bodies of pairing's API, as its OpenAPI document declares them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.pagination import Page
from shared.contracts import Jurisdiction
from shared.contracts.events import (
    AgeBand, CaregiverKind, ChildStatus, ContactChannel, PairingEndReason, PairingRole,
)


class CaregiverOut(BaseModel):
    id: UUID
    kind: CaregiverKind
    jurisdiction: Jurisdiction
    school_id: str | None
    name: str | None
    capacity: int
    capacity_source: Literal["caregiver", "county", "default"]
    load: int = Field(description="children paired now (lead or helper)")
    free: int
    channels: list[ContactChannel]
    active: bool
    version: int = Field(description="also the ETag; send it back in If-Match to change the caregiver")


class PairingOut(BaseModel):
    id: UUID
    child_id: UUID
    caregiver_id: UUID
    role: PairingRole
    started_on: date
    ended_on: date | None
    end_reason: PairingEndReason | None
    proposal_id: UUID | None
    active: bool


class PairingInHistory(PairingOut):
    caregiver_kind: CaregiverKind


class ChildPlaceOut(BaseModel):
    """What a caregiver sees of a child: where and how old, not why they are cared for."""

    township_code: str
    village_code: str | None
    school_id: str | None
    age_band: AgeBand


class OwnPairingOut(PairingOut):
    child: ChildPlaceOut


class SupportOut(BaseModel):
    id: UUID
    child_id: UUID
    township_code: str
    kind: Literal["financial_aid", "in_kind"]
    amount_fen: int
    item: str | None
    fund: str
    given_on: date
    period: str
    given_by: str | None
    flagged: bool = Field(description="a second gift from the same fund to the child in the same period")
    duplicate_of: UUID | None


class CaregiverActivity(BaseModel):
    caregiver_id: UUID
    kind: CaregiverKind
    township_code: str
    school_id: str | None
    active: bool
    children_paired: int
    contacts: dict[str, int] = Field(description="contacts logged in the period, by contact kind")
    contacts_total: int
    contacts_by_month: dict[str, dict[str, int]] = Field(description="YYYY-MM → contact kind → count")


class CaregiverPairingOut(OwnPairingOut):
    child_status: ChildStatus


class UnpairedChild(BaseModel):
    child_id: UUID
    jurisdiction: Jurisdiction
    school_id: str | None
    priority: bool
    age_band: AgeBand
    waiting_since: datetime


class UnpairedQueue(Page[UnpairedChild]):
    """The list shape, with `total`: every unpaired child in scope."""


class CoverageFigures(BaseModel):
    active_children: int
    paired: int
    coverage: float | None = Field(description="paired / active, null when there are no active children")
    priority_active: int
    priority_paired: int
    priority_coverage: float | None


class TownshipCoverage(CoverageFigures):
    township_code: str


class SchoolCoverage(CoverageFigures):
    school_id: str | None


class Coverage(BaseModel):
    total: CoverageFigures
    by_township: list[TownshipCoverage]
    by_school: list[SchoolCoverage]
    as_of: date | None = Field(None, description="the day the figures are for, when one was asked for")


class CapacityDefaults(BaseModel):
    county_code: str
    capacities: dict[str, int] = Field(description="caregiver kind → children per caregiver")
    set_by_county: list[str] = Field(description="the kinds whose capacity the county set itself")


class ProposalItem(BaseModel):
    child_id: UUID
    caregiver_id: UUID
    match_level: Literal["school", "village", "township"]
    priority: bool
    township_code: str
    status: Literal["proposed", "accepted", "refused"]
    refusal: str | None
    pairing_id: UUID | None


class ProposalMade(BaseModel):
    """What a new proposal answers at once: its counts (the items are read from its page)."""
    id: UUID
    jurisdiction: str
    children_considered: int
    caregivers_considered: int
    proposed: int
    left_unpaired: int
    priority_children: int
    priority_proposed: int
    by_level: dict[str, int] = Field(description="proposed pairs by where the caregiver is: school, village, township")
    solve_ms: int


class Proposal(BaseModel):
    id: UUID
    jurisdiction: str
    created_at: datetime
    children_considered: int
    caregivers_considered: int
    items_total: int
    open: int
    accepted: int
    refused: int
    items: list[ProposalItem] = Field(description="a page of the items, priority children first")
    next_cursor: str | None = Field(default=None, description="pass as `cursor` for the next page of items; "
                                                              "null on the last page")


class AcceptanceItem(BaseModel):
    """One item's outcome; a refusal names its reason (`code` of the refusal) and may carry
    the numbers behind it (load, capacity)."""

    model_config = ConfigDict(extra="allow")

    child_id: UUID
    outcome: Literal["accepted", "refused", "already_decided"]
    pairing_id: UUID | None = None
    caregiver_id: UUID | None = None
    reason: str | None = None
    message: str | None = None
    status: str | None = Field(default=None, description="for already_decided: what was decided")


class Acceptance(BaseModel):
    proposal_id: UUID
    accepted: int
    refused: int
    already_decided: int
    items: list[AcceptanceItem]


class SupportFigures(BaseModel):
    records: int
    children: int
    amount_fen: int
    gifts_in_kind: int
    flagged: int


class FundFigures(SupportFigures):
    fund: str


class TownshipFigures(SupportFigures):
    township_code: str


class FundTownshipFigures(SupportFigures):
    fund: str
    township_code: str


class SupportTotals(BaseModel):
    total: SupportFigures
    by_fund: list[FundFigures]
    by_township: list[TownshipFigures]
    by_fund_and_township: list[FundTownshipFigures]

"""Registry rules, pure: no I/O. They take and return plain values and events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from shared.contracts import ChildRegistered, Jurisdiction


class RuleViolation(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class NewChild:
    id: UUID
    name: str
    gender: str
    birth_date: date
    jurisdiction: Jurisdiction
    school_id: str | None
    categories: tuple[str, ...]
    priority: bool


def age_band(birth_date: date, today: date) -> str:
    age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    if age < 0:
        return "unknown"
    for upper, band in ((5, "0-5"), (11, "6-11"), (13, "12-13"), (15, "14-15"), (17, "16-17")):
        if age <= upper:
            return band
    return "18+"


def check_jurisdiction(jurisdiction: Jurisdiction) -> None:
    """Codes are prefix-consistent: the township lies in the county, the village in the township."""
    county, township = jurisdiction.county_code, jurisdiction.township_code
    if not county.endswith("000000") or county[:6].endswith("00"):
        raise RuleViolation("jurisdiction.county_code", "not a county-level code (NNNNNN000000)")
    if township[:6] != county[:6] or township[6:9] == "000" or not township.endswith("000"):
        raise RuleViolation("jurisdiction.township_code", "not a township of this county")
    village = jurisdiction.village_code
    if village is not None and (village[:9] != township[:9] or village.endswith("000")):
        raise RuleViolation("jurisdiction.village_code", "not a village of this township")


def register(child: NewChild, today: date) -> ChildRegistered:
    if child.birth_date > today:
        raise RuleViolation("birth_date", "is in the future")
    check_jurisdiction(child.jurisdiction)
    return ChildRegistered(
        child_id=child.id,
        jurisdiction=child.jurisdiction,
        school_id=child.school_id,
        categories=child.categories,
        priority=child.priority,
        age_band=age_band(child.birth_date, today),
        status="active",
        record_version=1,
    )

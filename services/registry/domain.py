"""Registry rules, pure: no I/O. They take and return plain values and events.

A child's record (`NewChild`, also the shape of an updated record) is validated by
`check_record`; each lifecycle step (`register`, `update`, `transfer`, `close`, `reopen`)
checks what it may and returns the event that tells the other services, carrying only the
facts they may know (no name, ID number, phone, address or sensitive category).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, cast
from uuid import UUID

from services.registry import child_fields, vocabulary
from services.registry.identity import check_id_agrees
from shared.rules import RuleViolation
from shared.contracts import ChildRegistered, Jurisdiction
from shared.contracts.events import (
    AgeBand, ChildClosed, ChildReopened, ChildTransferred, ChildUpdated, CloseReason, _ChildFacts,
)

__all__ = ["RuleViolation", "NewChild", "age_band", "check_jurisdiction", "register", "update",
           "transfer", "close", "reopen", "PUBLIC_CATEGORIES", "SENSITIVE_CATEGORIES"]

PUBLIC_CATEGORIES = vocabulary.CATEGORY.codes
SENSITIVE_CATEGORIES = vocabulary.SENSITIVE_CATEGORY.codes
LEFT_BEHIND_TYPES = vocabulary.LEFT_BEHIND_TYPE.codes
HOUSEHOLD_TYPES = vocabulary.HOUSEHOLD_TYPE.codes
CLOSE_REASONS = vocabulary.CLOSE_REASON.codes
STATUTORY_BASIS = {"statutory_duty": True, "duty_reference": "minors_protection_law",
                   "consent_evidence": None, "consent_given_by": None, "consent_date": None}

ADULT_AGE = 18


@dataclass(frozen=True)
class NewChild:
    """A child's record as the registry holds it, in clear (encryption happens in the store)."""

    id: UUID
    name: str
    gender: str
    birth_date: date
    jurisdiction: Jurisdiction
    school_id: str | None
    categories: tuple[str, ...]
    priority: bool
    national_id: str | None = None
    ethnicity: str | None = None
    household_type: str | None = None
    grade: str | None = None
    class_name: str | None = None
    address: str | None = None
    left_behind_type: str | None = None
    sensitive_categories: tuple[str, ...] = ()
    priority_reason: str | None = None
    guardians: tuple[dict[str, Any], ...] = ()
    parents: tuple[dict[str, Any], ...] = ()
    lawful_basis: dict[str, Any] = field(default_factory=lambda: dict(STATUTORY_BASIS))
    school_status: str | None = None    # 在校状态 (vocabulary school_status)
    boarding: bool | None = None        # 寄宿
    study_level: str | None = None      # 学习情况 (vocabulary study_level)
    hobbies: str | None = None          # 爱好
    particulars: str | None = None      # 特殊情况: encrypted, shown only in clear views


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def age_band(birth_date: date, today: date) -> AgeBand:
    age = age_on(birth_date, today)
    if age < 0:
        return "unknown"
    bands: tuple[tuple[int, AgeBand], ...] = ((5, "0-5"), (11, "6-11"), (13, "12-13"), (15, "14-15"), (17, "16-17"))
    for upper, band in bands:
        if age <= upper:
            return band
    return "18+"


def check_jurisdiction(jurisdiction: Jurisdiction) -> None:
    """Codes are prefix-consistent: the township lies in the county, the village in the township."""
    county, township = jurisdiction.county_code, jurisdiction.township_code
    if not county.endswith("000000") or county[:6].endswith("00"):
        raise RuleViolation("jurisdiction.county_code", "不是县级区划代码 / not a county-level code (NNNNNN000000)")
    if township[:6] != county[:6] or township[6:9] == "000" or not township.endswith("000"):
        raise RuleViolation("jurisdiction.township_code", "不是本县的乡镇 / not a township of this county")
    village = jurisdiction.village_code
    if village is not None and (village[:9] != township[:9] or village.endswith("000")):
        raise RuleViolation("jurisdiction.village_code", "不是本乡镇的村（社区） / not a village of this township")


def check_record(child: NewChild, today: date) -> None:
    """Every rule a record must satisfy, whether typed in, imported or updated."""
    if child.birth_date > today:
        raise RuleViolation("birth_date", "出生日期在未来 / is in the future")
    if age_on(child.birth_date, today) >= ADULT_AGE:
        raise RuleViolation("birth_date", "已满18周岁，不属于未成年人 / the child is 18 or older")
    check_jurisdiction(child.jurisdiction)
    if child.national_id is not None:
        check_id_agrees(child.national_id, child.birth_date, child.gender)
    unknown = set(child.categories) - set(PUBLIC_CATEGORIES)
    if unknown:
        raise RuleViolation("categories", f"不是可选值之一：{vocabulary.CATEGORY.allowed_text()} / unknown category")
    if set(child.sensitive_categories) - set(SENSITIVE_CATEGORIES):
        raise RuleViolation("sensitive_categories",
                            f"不是可选值之一：{vocabulary.SENSITIVE_CATEGORY.allowed_text()} / unknown sensitive category")
    if child.left_behind_type == "not_left_behind" and "left_behind" in child.categories:
        raise RuleViolation("left_behind_type", "留守儿童须注明留守类型 / a left-behind child needs a left-behind type")
    basis = child.lawful_basis
    if not basis.get("statutory_duty") and not basis.get("consent_evidence"):
        raise RuleViolation("lawful_basis", "须有监护人同意凭证或法定职责 / consent evidence or a statutory duty is required")
    if child.priority_reason and not child.priority:
        raise RuleViolation("priority_reason", "只有重点关注儿童才填写重点关注原因 / only a priority child has a priority reason")


def _facts(child: NewChild, today: date, *, status: str, version: int) -> dict[str, Any]:
    return {
        "child_id": child.id, "jurisdiction": child.jurisdiction, "school_id": child.school_id,
        "categories": tuple(c for c in child.categories if c in PUBLIC_CATEGORIES),
        "age_band": age_band(child.birth_date, today), "status": status, "record_version": version,
        **{name: getattr(child, name) for name in child_fields.event_names()},
    }


def register(child: NewChild, today: date, *, checked: bool = False) -> ChildRegistered:
    """`checked=True` when check_record already ran on this very record (bulk import)."""
    if not checked:
        check_record(child, today)
    return ChildRegistered(**_facts(child, today, status="active", version=1))


def update(changed: NewChild, *, status: str, new_version: int, today: date) -> ChildUpdated:
    """An edit of the record's facts. Moving school or township is a transfer, not an edit."""
    check_record(changed, today)
    return ChildUpdated(**_facts(changed, today, status=status, version=new_version))


def transfer(child: NewChild, *, status: str, to: Jurisdiction, to_school_id: str | None,
             grade: str | None, class_name: str | None, allowed_county: str, new_version: int,
             today: date) -> tuple[NewChild, ChildTransferred]:
    """A move to another school or township within the caller's county. A move out of the
    county is a close with reason `moved_away` (the receiving county registers the child)."""
    if status == "closed":
        raise RuleViolation("status", "已结案的档案须先重新启用 / a closed record must be reopened first", 409)
    check_jurisdiction(to)
    if not to.county_code.startswith(allowed_county):
        raise RuleViolation("jurisdiction.county_code", "转出本县请结案（迁出） / a move out of the county is a close (moved_away)")  # noqa: E501
    same_place = (to == child.jurisdiction and to_school_id == child.school_id)
    if same_place:
        raise RuleViolation("jurisdiction", "转入地与现所在地相同 / the destination is where the child already is")
    moved = replace(child, jurisdiction=to, school_id=to_school_id, grade=grade, class_name=class_name)
    event = ChildTransferred(**_facts(moved, today, status="transferred", version=new_version),
                             from_jurisdiction=child.jurisdiction, from_school_id=child.school_id)
    return moved, event


def close(child: NewChild, *, status: str, reason: str, new_version: int, today: date) -> ChildClosed:
    if status == "closed":
        raise RuleViolation("status", "档案已结案 / the record is already closed", 409)
    if reason not in CLOSE_REASONS:
        raise RuleViolation("reason", f"不是可选值之一：{vocabulary.CLOSE_REASON.allowed_text()} / unknown close reason")
    return ChildClosed(**_facts(child, today, status="closed", version=new_version), reason=cast(CloseReason, reason))


def reopen(child: NewChild, *, status: str, new_version: int, today: date) -> ChildReopened:
    if status != "closed":
        raise RuleViolation("status", "只有已结案的档案可以重新启用 / only a closed record can be reopened", 409)
    if age_on(child.birth_date, today) >= ADULT_AGE:
        raise RuleViolation("birth_date", "已满18周岁，不能重新启用 / the child is 18 or older")
    return ChildReopened(**_facts(child, today, status="active", version=new_version))


def event_is_personal_data_free(event: _ChildFacts) -> bool:
    """The registry's own guard, used by tests: events hold only the public facts."""
    return not (set(event.categories) & set(SENSITIVE_CATEGORIES))

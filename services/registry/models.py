"""Request bodies of the registry API. Unknown fields are refused (extra="forbid"); values
are normalised and validated here so that a 422 names the field and never echoes it."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import ConfigDict, Field, create_model, field_validator

from services.registry import child_fields, identity, vocabulary
from shared.clean_text import CleanInput, MultiLineText
from shared.rules import RuleViolation
from shared.contracts import Jurisdiction
from shared.contracts.events import CloseReason, PublicCategory

# The vocabularies' codes (services/registry/vocabulary.py), as input types.
SchoolStatus = Literal[vocabulary.SCHOOL_STATUS.codes]  # type: ignore[valid-type]
StudyLevel = Literal[vocabulary.STUDY_LEVEL.codes]  # type: ignore[valid-type]
SensitiveCategory = Literal[vocabulary.SENSITIVE_CATEGORY.codes]  # type: ignore[valid-type]
HouseholdType = Literal[vocabulary.HOUSEHOLD_TYPE.codes]  # type: ignore[valid-type]
GrowthArea = Literal[vocabulary.GROWTH_AREA.codes]  # type: ignore[valid-type]
GuardianRelation = Literal[vocabulary.GUARDIAN_RELATION.codes]  # type: ignore[valid-type]
ParentRelation = Literal[vocabulary.PARENT_RELATION.codes]  # type: ignore[valid-type]


def _reason(exc: RuleViolation) -> ValueError:
    return ValueError(exc.reason)


class _In(CleanInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GuardianIn(_In):
    relation: GuardianRelation
    # The word the county wrote (外祖母, 其他亲属, 哥哥…), kept beside its group.
    relation_word: str | None = Field(default=None, max_length=20)
    name: str = Field(min_length=1, max_length=50)
    age: int | None = Field(default=None, ge=10, le=120)
    health: str | None = Field(default=None, max_length=100)
    occupation: str | None = Field(default=None, max_length=100)
    phone: str | None = None
    address: str | None = Field(default=None, max_length=200)
    entrusted: bool = False  # 委托监护人

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        try:
            return identity.normalize_phone(value, "phone") if value else None
        except RuleViolation as exc:
            raise _reason(exc) from None


class ParentIn(_In):
    relation: ParentRelation
    name: str | None = Field(default=None, max_length=50)
    work_place: str | None = Field(default=None, max_length=200)
    phone: str | None = None
    away_since: str | None = Field(default=None, description="外出时间: a month (2020-02) or a day (2020-02-01)")

    _phone = field_validator("phone")(GuardianIn._phone.__func__)  # type: ignore[attr-defined]

    @field_validator("away_since")
    @classmethod
    def _away_since(cls, value: str | None) -> str | None:
        try:
            return identity.parse_month(value, "away_since") if value else None
        except RuleViolation as exc:
            raise _reason(exc) from None


def _phone_or_mask(value: str | None) -> str | None:
    """An edit may send back the masked phone it was shown (card_edits keeps the stored one)."""
    if value and "*" in value:
        return value
    return GuardianIn._phone.__func__(GuardianIn, value)  # type: ignore[attr-defined]


class GuardianEdit(_In):
    """A guardian entry as an edit sends it: the fields to set (left out: unchanged). With
    `id`, an entry of the record; without, a new entry (relation and name required)."""

    id: UUID | None = None
    relation: GuardianRelation | None = None
    relation_word: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, min_length=1, max_length=50)
    age: int | None = Field(default=None, ge=10, le=120)
    health: str | None = Field(default=None, max_length=100)
    occupation: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, description="or the masked value shown (unchanged)")
    address: str | None = Field(default=None, max_length=200, description="or the masked value shown (unchanged)")
    entrusted: bool | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return _phone_or_mask(value)


class ParentEdit(_In):
    id: UUID | None = None
    relation: ParentRelation | None = None
    name: str | None = Field(default=None, max_length=50)
    work_place: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, description="or the masked value shown (unchanged)")
    away_since: str | None = Field(default=None, description="a month (2020-02) or a day (2020-02-01)")

    _phone = field_validator("phone")(GuardianEdit._phone.__func__)  # type: ignore[attr-defined]
    _away_since = field_validator("away_since")(ParentIn._away_since.__func__)  # type: ignore[attr-defined]


class LawfulBasisIn(_In):
    statutory_duty: bool = False
    duty_reference: str | None = Field(default=None, max_length=100)
    consent_evidence: str | None = Field(default=None, max_length=200, description="reference of the signed consent")
    consent_given_by: Literal["guardian", "parent"] | None = None
    consent_date: date | None = None


# The plain fields (child_fields.py) as a create and a patch take them.
_PlainFields = create_model("_PlainFields", __base__=_In, **child_fields.input_fields())
_PlainPatch = create_model("_PlainPatch", __base__=_In, **child_fields.patch_fields())


class ChildFields(_PlainFields):  # type: ignore[misc,valid-type]
    """The fields of a record, shared by create and update."""

    national_id: str | None = Field(default=None, description="GB 11643, 18 characters; encrypted at rest")
    school_id: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=200)
    categories: list[PublicCategory] = Field(default_factory=list, max_length=10)
    sensitive_categories: list[SensitiveCategory] = Field(default_factory=list, max_length=10)
    priority_reason: MultiLineText | None = Field(default=None, max_length=500)
    guardians: list[GuardianIn] = Field(default_factory=list, max_length=5)
    parents: list[ParentIn] = Field(default_factory=list, max_length=2)
    lawful_basis: LawfulBasisIn | None = None
    particulars: MultiLineText | None = Field(default=None, max_length=500,
                                              description="特殊情况; encrypted, shown only in clear views")

    @field_validator("national_id")
    @classmethod
    def _national_id(cls, value: str | None) -> str | None:
        try:
            return identity.normalize_national_id(value) if value else None
        except RuleViolation as exc:
            raise _reason(exc) from None


class ChildIn(ChildFields):
    name: str = Field(min_length=1, max_length=50)
    gender: Literal["male", "female"]
    birth_date: date
    jurisdiction: Jurisdiction

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        try:
            return identity.normalize_name(value)
        except RuleViolation as exc:
            raise _reason(exc) from None


class ChildPatch(_PlainPatch):  # type: ignore[misc,valid-type]
    """Fields to change; those left out keep their value. Moving school or township is a
    transfer (POST …/transfer), not an edit."""

    version: int | None = Field(default=None, ge=1, description="or send If-Match")
    name: str | None = Field(default=None, min_length=1, max_length=50)
    gender: Literal["male", "female"] | None = None
    birth_date: date | None = None
    national_id: str | None = None
    address: str | None = Field(default=None, max_length=200)
    categories: list[PublicCategory] | None = Field(default=None, max_length=10)
    sensitive_categories: list[SensitiveCategory] | None = Field(default=None, max_length=10)
    priority_reason: MultiLineText | None = Field(default=None, max_length=500)
    guardians: list[GuardianEdit] | None = Field(
        default=None, max_length=5, description="the whole list: entries by id changed (fields left out kept), "
                                                "without id added, left out removed")
    parents: list[ParentEdit] | None = Field(default=None, max_length=2, description="as guardians")
    lawful_basis: LawfulBasisIn | None = None
    particulars: MultiLineText | None = Field(default=None, max_length=500,
                                              description="null: unchanged (how a masked reader sees it); \"\" clears")

    @field_validator("national_id")
    @classmethod
    def _national_id_or_mask(cls, value: str | None) -> str | None:
        if value and "*" in value:  # the masked ID shown: unchanged if it is the stored one's mask
            return value
        return ChildFields._national_id.__func__(cls, value)  # type: ignore[attr-defined]

    _name = field_validator("name")(ChildIn._name.__func__)  # type: ignore[attr-defined]


class TransferIn(_In):
    version: int | None = Field(default=None, ge=1)
    jurisdiction: Jurisdiction
    school_id: str | None = Field(default=None, max_length=64)
    grade: str | None = Field(default=None, max_length=20)
    class_name: str | None = Field(default=None, max_length=20)


class CloseIn(_In):
    version: int | None = Field(default=None, ge=1)
    reason: CloseReason


class ReopenIn(_In):
    version: int | None = Field(default=None, ge=1)


class GrowthNoteIn(_In):
    noted_on: date
    area: GrowthArea
    text: MultiLineText = Field(min_length=1, max_length=4000)


class SearchIn(_In):
    """Search terms travel in the body: names never go into URLs (or access logs)."""

    query: str = Field(min_length=1, max_length=50, description="name, pinyin (zengxiaoming) or initials (zxm)")
    township_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    village_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    school_id: str | None = Field(default=None, max_length=64)
    category: PublicCategory | None = None
    status: Literal["active", "transferred", "closed"] | None = None
    paired: bool | None = Field(default=None, description="paired with a caregiver now (true) or with no one (false)")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=512, pattern=r"^[A-Za-z0-9_\-]+$",
                               description="`next_cursor` of the previous page of results; omit for the first")


class ExpectedCountIn(_In):
    kind: Literal["township", "school"]
    code: str = Field(min_length=1, max_length=64, description="the township code, or the school id")
    township_code: str = Field(pattern=r"^\d{12}$", description="the township the school lies in (or itself)")
    expected: int = Field(ge=0, le=1_000_000)

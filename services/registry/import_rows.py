"""One sheet row → a child's record, or the reasons it is refused (row, column, reason).

Pure: no I/O. Each column is checked on its own so that a row's report lists every
problem at once, then the record-level rules (ID agrees with birth date and gender,
jurisdiction codes consistent) run on what parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Callable
from uuid import UUID

from services.registry import child_fields, domain, identity, vocabulary
from services.registry.divisions import UNKNOWN_COUNTY, DivisionRegister
from services.registry.schools import resolve_school
from shared.clean_text import has_control_character
from shared.rules import RuleViolation
from services.registry.sheets import GENDERS, HOUSEHOLD, LEFT_BEHIND, RELATIONS, YES_NO
from shared.contracts import Jurisdiction

RowError = tuple[int, str, str]  # spreadsheet row number, column key, reason

_SPLIT = re.compile(r"[、,，;；/\s]+")
# record-level rule fields → the sheet column to blame
_FIELD_COLUMN = {
    "birth_date": "birth_date", "national_id": "national_id", "jurisdiction.county_code": "county_code",
    "jurisdiction.township_code": "township_code", "jurisdiction.village_code": "village_code",
    "left_behind_type": "left_behind_type", "lawful_basis": "consent_evidence", "priority_reason": "priority_reason",
    "categories": "categories", "sensitive_categories": "sensitive_categories",
}


@dataclass(frozen=True)
class ParsedRow:
    row_number: int
    child: domain.NewChild | None
    errors: tuple[RowError, ...]
    national_id: str | None = None  # a refused row's ID, when the ID itself is valid


def is_blank(raw: dict[str, Any]) -> bool:
    return not any(identity.clean_text(value) for value in raw.values())


def _text(raw: dict[str, Any], key: str, max_length: int = 200) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None  # most optional cells are empty
    return _text_of(value, key, max_length)


# A county's sheets repeat the same cells again and again (codes, schools, grades, choices,
# dates), so a cell's parse is cached by its value; errors are not cached (they raise).
# typed: 1, 1.0 and True are different cells.
@lru_cache(maxsize=65536, typed=True)
def _text_of(value: Any, key: str, max_length: int) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # "3" typed in a numeric cell comes back as 3.0
    text = identity.clean_text(value)
    if has_control_character(text):  # the same rule as the API's (shared/clean_text.py)
        raise RuleViolation(key, "含有控制字符 / contains a control character")
    if len(text) > max_length:
        raise RuleViolation(key, f"超过{max_length}个字符 / longer than {max_length} characters")
    return text or None


# What an error lists as the choices: the labels (the synonyms are in the template's guide).
_ALLOWED = {"gender": vocabulary.GENDER, "household_type": vocabulary.HOUSEHOLD_TYPE,
            "left_behind_type": vocabulary.LEFT_BEHIND_TYPE, "guardian_relation": vocabulary.GUARDIAN_RELATION,
            "priority": vocabulary.YES_NO, "statutory_duty": vocabulary.YES_NO, "boarding": vocabulary.YES_NO,
            "school_status": vocabulary.SCHOOL_STATUS, "study_level": vocabulary.STUDY_LEVEL}
SCHOOL_STATUS = vocabulary.SCHOOL_STATUS.reading()
STUDY_LEVEL = vocabulary.STUDY_LEVEL.reading()


def _choice(raw: dict[str, Any], key: str, mapping: dict[str, Any]) -> Any:
    text = _text(raw, key)
    if text is None:
        return None
    value = mapping.get(text) if text in mapping else mapping.get(text.lower())
    if value is None and text not in mapping:
        raise RuleViolation(key, f"不是可选值之一：{_ALLOWED[key].allowed_text()} / not one of the allowed values")
    return value


def _many(raw: dict[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    text = _text(raw, key, 500)
    if text is None:
        return ()
    return _many_of(text, key)


@lru_cache(maxsize=4096)
def _many_of(text: str, key: str) -> tuple[tuple[str, str], ...]:
    """(kind, code) per word: a survey's one column often holds both kinds (孤儿、服刑人员子女);
    each word goes where it belongs, whichever column it was in."""
    values = []
    for part in filter(None, _SPLIT.split(text)):
        kind = vocabulary.category_kind(part)
        if kind is None:
            raise RuleViolation(key, f"不是可选值之一：{vocabulary.CATEGORY.allowed_text()}、"
                                     f"{vocabulary.SENSITIVE_CATEGORY.allowed_text()} / not one of the allowed values")
        values.append(kind)
    return tuple(dict.fromkeys(values))


_COUNTY_CODE = re.compile(r"\d{6}(?:000000)?")


def _county(raw: dict[str, Any], key: str) -> str | None:
    """A county's 12-digit code, or its 6-digit form (520424)."""
    text = _text(raw, key)
    if text is None:
        return None
    if not _COUNTY_CODE.fullmatch(text):
        raise RuleViolation(key, "县区代码应为12位（或6位）数字 / a county code is 12 (or 6) digits")
    return text.ljust(12, "0")


@lru_cache(maxsize=16384, typed=True)
def _date_of(value: Any, key: str) -> date | None:
    return identity.parse_date(value, key) if identity.clean_text(value) else None


@lru_cache(maxsize=16384, typed=True)
def _birth_of(value: Any, key: str) -> date | identity.BirthMonth | None:
    return identity.parse_birth(value, key) if identity.clean_text(value) else None


@lru_cache(maxsize=4096, typed=True)
def _month_of(value: Any, key: str) -> str | None:
    """外出时间: a month (2020-02) where the survey has months, or a date."""
    return identity.parse_month(value, key) if identity.clean_text(value) else None


def _text_column(key: str, max_length: int) -> Callable[[dict[str, Any]], str | None]:
    return lambda raw: _text(raw, key, max_length)


def _choice_column(key: str, mapping: dict[str, Any]) -> Callable[[dict[str, Any]], Any]:
    return lambda raw: _choice(raw, key, mapping)




# Each field of a row: the cell it is read from when it has one (an empty cell then gives
# the empty value without calling the reader: most optional cells are empty), and how it
# is read from the row's cells, in the order the row's errors are reported. Built once.
_FIELDS: tuple[tuple[str, str | None, Any, Callable[[dict[str, Any]], Any]], ...] = (
    ("name", None, None, lambda raw: identity.normalize_name(raw.get("name"), "name")),
    ("national_id", None, None, lambda raw: identity.normalize_national_id(raw.get("national_id"), "national_id")),
    ("gender", "gender", None, _choice_column("gender", GENDERS)),
    ("birth_date", "birth_date", None, lambda raw: _birth_of(raw.get("birth_date"), "birth_date")),
    ("ethnicity", "ethnicity", None, _text_column("ethnicity", 20)),
    ("household_type", "household_type", None, _choice_column("household_type", HOUSEHOLD)),
    ("county_code", "county_code", None, lambda raw: _county(raw, "county_code")),
    # codes (12 or 9 digits) or names, resolved against the division register below
    ("township_code", "township_code", None, _text_column("township_code", 50)),
    ("village_code", "village_code", None, _text_column("village_code", 50)),
    ("school_id", "school_id", None, _text_column("school_id", 64)),
    ("grade", "grade", None, _text_column("grade", 20)),
    ("class_name", "class_name", None, _text_column("class_name", 20)),
    ("address", "address", None, _text_column("address", 200)),
    ("priority_reason", "priority_reason", None, _text_column("priority_reason", 500)),
    ("consent_evidence", "consent_evidence", None, _text_column("consent_evidence", 200)),
    ("left_behind_type", "left_behind_type", None, _choice_column("left_behind_type", LEFT_BEHIND)),
    ("categories", "categories", (), lambda raw: _many(raw, "categories")),
    ("sensitive_categories", "sensitive_categories", (), lambda raw: _many(raw, "sensitive_categories")),
    ("priority", "priority", False, lambda raw: _choice(raw, "priority", YES_NO) or False),
    ("statutory_duty", "statutory_duty", None, _choice_column("statutory_duty", YES_NO)),
    ("school_status", "school_status", None, _choice_column("school_status", SCHOOL_STATUS)),
    ("boarding", "boarding", None, _choice_column("boarding", YES_NO)),
    ("study_level", "study_level", None, _choice_column("study_level", STUDY_LEVEL)),
    ("hobbies", "hobbies", None, _text_column("hobbies", 200)),
    ("particulars", "particulars", None, _text_column("particulars", 500)),
    ("guardians", None, None, lambda raw: _guardians(raw)),
    ("parents", None, None, lambda raw: _parents(raw)),
)


def parse_row(row_number: int, raw: dict[str, Any], child_id: UUID, today: date, divisions: DivisionRegister,
              default_county: str | None = None) -> ParsedRow:
    """`divisions`: the register of the counties the sheet may name; `default_county`: the
    county a row without one lies in (the uploader's, when the sheet has no county column)."""
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    for name, cell, empty, read in _FIELDS:
        if cell is not None and raw.get(cell) in ("", None):
            values[name] = empty
            continue
        try:
            values[name] = read(raw)
        except RuleViolation as violation:
            errors.append((row_number, violation.field if violation.field in raw else name, violation.reason))
            values[name] = None

    if values.get("county_code") is None and default_county and not any(e[1] == "county_code" for e in errors):
        values["county_code"] = default_county
    for key in ("county_code", "township_code"):
        if values.get(key) is None and not any(e[1] == key for e in errors):
            errors.append((row_number, key, "必填 / is required"))
    _resolve_places(row_number, values, errors, divisions)
    if values.get("school_id") is not None and divisions.schools is not None:
        try:  # the school's id, 学校标识码 or name in the county's register
            values["school_id"] = resolve_school(divisions.schools, values["school_id"])
        except RuleViolation as violation:
            errors.append((row_number, "school_id", violation.reason))
    national_id = values.get("national_id")
    if national_id:  # gender and birth date may be left blank: the ID encodes them
        encoded_birth, encoded_gender = identity.facts_from_national_id(national_id)
        if values.get("birth_date") is None and not any(e[1] == "birth_date" for e in errors):
            values["birth_date"] = encoded_birth
        if values.get("gender") is None and not any(e[1] == "gender" for e in errors):
            values["gender"] = encoded_gender
        if isinstance(values.get("birth_date"), identity.BirthMonth):  # 出生年月: the ID gives the day
            if values["birth_date"].agrees_with(encoded_birth):
                values["birth_date"] = encoded_birth
            else:
                errors.append((row_number, "birth_date", "出生年月与身份证号不一致 / the birth month disagrees "
                                                         "with the national ID"))
    if isinstance(values.get("birth_date"), identity.BirthMonth) and not errors:  # (the ID is required anyway)
        errors.append((row_number, "birth_date", "只有出生年月时须填身份证号 / a birth month without the day needs "
                                                 "the national ID"))
    if errors:
        return ParsedRow(row_number, None, tuple(errors), national_id)

    marked = (values["categories"] or ()) + (values["sensitive_categories"] or ())
    values["categories"] = tuple(dict.fromkeys(code for kind, code in marked if kind == "categories"))
    values["sensitive_categories"] = tuple(dict.fromkeys(code for kind, code in marked if kind != "categories"))
    consent = values["consent_evidence"]
    # Blank means: registered under the county's statutory duty unless consent is given.
    statutory = values["statutory_duty"] if values["statutory_duty"] is not None else not consent
    basis = {"statutory_duty": statutory, "duty_reference": "minors_protection_law" if statutory else None,
             "consent_evidence": consent, "consent_given_by": "guardian" if consent else None,
             "consent_date": None}
    child = domain.NewChild(
        id=child_id, name=values["name"], gender=values["gender"], birth_date=values["birth_date"],
        jurisdiction=Jurisdiction(county_code=values["county_code"], township_code=values["township_code"],
                                  village_code=values["village_code"]),
        school_id=values["school_id"], categories=values["categories"], national_id=national_id,
        address=values["address"], sensitive_categories=tuple(sorted(values["sensitive_categories"])),
        priority_reason=values["priority_reason"], guardians=values["guardians"], parents=values["parents"],
        lawful_basis=basis, particulars=values["particulars"],
        # The plain fields the template has a column for (a field without one keeps its default).
        **{name: values[name] for name in child_fields.names() if name in values},
    )
    try:
        domain.check_record(child, today)
    except RuleViolation as violation:
        return ParsedRow(row_number, None, ((row_number, _FIELD_COLUMN.get(violation.field, violation.field),
                                             violation.reason),), national_id)
    return ParsedRow(row_number, child, ())


def _resolve_places(row_number: int, values: dict[str, Any], errors: list[RowError],
                    divisions: DivisionRegister) -> None:
    """County, township and village against the division register: codes must exist, and
    a township or village may be given by its 9-digit code or its name within the county."""
    county, township, village = values.get("county_code"), values.get("township_code"), values.get("village_code")
    if county is None:
        return  # reported as required
    # A sheet names the same few places again and again: each combination is resolved once.
    place = (county, township, village)
    resolved = divisions.resolved.get(place)
    if resolved is None:
        if len(divisions.resolved) > _MAX_REMEMBERED_PLACES:
            divisions.resolved.clear()
        resolved = divisions.resolved[place] = _resolve(divisions, county, township, village)
    if isinstance(resolved, RuleViolation):
        errors.append((row_number, resolved.field, resolved.reason))
    elif township is not None:
        values["township_code"], values["village_code"] = resolved


_MAX_REMEMBERED_PLACES = 20_000


def _resolve(divisions: DivisionRegister, county: str, township: str | None,
             village: str | None) -> tuple[str | None, str | None] | RuleViolation:
    if not divisions.is_county(county):
        return RuleViolation("county_code", UNKNOWN_COUNTY)
    if township is None:
        return None, None  # reported as required
    try:
        township_code = divisions.resolve_township(county, township)
        return township_code, divisions.resolve_village(township_code, village) if village is not None else None
    except RuleViolation as violation:
        return violation


def _guardians(raw: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    name = _text(raw, "guardian_name", 50)
    phone = _text(raw, "guardian_phone", 30)
    if name is None:
        if phone or _text(raw, "guardian_address"):
            raise RuleViolation("guardian_name", "填写了监护人信息但缺少姓名 / guardian details without a name")
        return ()
    age_text = _text(raw, "guardian_age", 5)
    age = None
    if age_text:
        if not age_text.isdigit() or not 10 <= int(age_text) <= 120:
            raise RuleViolation("guardian_age", "年龄应为10到120之间的整数 / an age from 10 to 120")
        age = int(age_text)
    return ({
        "relation": _choice(raw, "guardian_relation", RELATIONS) or "other",
        "relation_word": _text(raw, "guardian_relation", 20),
        "name": identity.normalize_name(name, "guardian_name"), "age": age,
        "health": _text(raw, "guardian_health", 100), "occupation": _text(raw, "guardian_occupation", 100),
        "phone": identity.normalize_phone(phone, "guardian_phone") if phone else None,
        "address": _text(raw, "guardian_address", 200), "entrusted": False,
    },)


def _parents(raw: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    parents = []
    for relation, name_key, work_key, phone_key, away_key in _PARENT_COLUMNS:
        name = _text(raw, name_key, 50)
        work = _text(raw, work_key, 200)
        phone = _text(raw, phone_key, 30)
        away = _month_of(raw.get(away_key), away_key)
        if not (name or work or phone or away):
            continue
        parents.append({
            "relation": relation,
            "name": identity.normalize_name(name, name_key) if name else None,
            "work_place": work,
            "phone": identity.normalize_phone(phone, phone_key) if phone else None,
            "away_since": away,
        })
    return tuple(parents)


_PARENT_COLUMNS = tuple((relation, f"{relation}_name", f"{relation}_work_place", f"{relation}_phone",
                         f"{relation}_away_since") for relation in ("father", "mother"))

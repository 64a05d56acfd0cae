"""The child record's plain fields, listed once: each is one value kept in clear in a
`children` column of the same name, and is read, written, patched, exported and (when
marked) carried by every registry event the same way. Everything that lists them is
derived from `FIELDS`: the store's INSERT/UPDATE/COPY columns (store.py), the request and
answer bodies (models.py, models_out.py), the open record and its view (privacy.py), the
create and patch routes (api.py), the export (sheet_writers.py), the events' facts
(domain.py), and an import's records and changes to stored records (import_rows.py,
sheet_updates.py) for the fields the template has a column for (sheets.py).

Fields with their own rules are not here: the name and national ID (normalised, the ID
encrypted), the place and school (moved by a transfer), the address, sensitive categories,
priority reason and particulars (encrypted), categories (a list), guardians and parents
(the contact card) and the lawful basis. Adding a plain field: see ARCHITECTURE.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal

from pydantic import Field

from services.registry import vocabulary
from services.registry.vocabulary import Vocabulary
from shared.contracts.events import LeftBehindType


@dataclass(frozen=True)
class ChildField:
    name: str                        # NewChild's attribute, the `children` column, the bodies' key
    kind: Any                        # the value's type in a body (None is allowed unless `default` is set)
    zh: str                          # what a sheet calls it (the export's header, an import change's label)
    en: str
    sql_type: str = "text"           # the column's type (a bulk import stages rows as text, then casts)
    max_length: int | None = None    # for text
    description: str | None = None
    default: Any = None              # when a create leaves it out; not None: the field is never null
    words: Vocabulary | None = None  # the codes' Chinese labels, written in the export
    in_events: bool = False          # carried by every registry event (ChildRegistered, ChildUpdated, …)

    @property
    def label(self) -> str:
        """The export's column header: 中文 English."""
        return f"{self.zh} {self.en}"


def _codes(words: Vocabulary) -> Any:
    return Literal[words.codes]


FIELDS: tuple[ChildField, ...] = (
    ChildField("ethnicity", str, "民族", "Ethnicity", max_length=20),
    ChildField("household_type", _codes(vocabulary.HOUSEHOLD_TYPE), "户籍类型", "Household",
               words=vocabulary.HOUSEHOLD_TYPE),
    ChildField("grade", str, "年级", "Grade", max_length=20),
    ChildField("class_name", str, "班级", "Class", max_length=20),
    ChildField("left_behind_type", LeftBehindType, "留守类型", "Left-behind type", words=vocabulary.LEFT_BEHIND_TYPE,
               in_events=True),
    ChildField("priority", bool, "重点关注", "Priority", sql_type="boolean", default=False, in_events=True),
    ChildField("school_status", _codes(vocabulary.SCHOOL_STATUS), "在校状态", "Schooling", description="在校状态",
               words=vocabulary.SCHOOL_STATUS),
    ChildField("boarding", bool, "寄宿", "Boarding", sql_type="boolean", description="寄宿"),
    ChildField("study_level", _codes(vocabulary.STUDY_LEVEL), "学习情况", "Schoolwork", description="学习情况",
               words=vocabulary.STUDY_LEVEL),
    ChildField("hobbies", str, "爱好特长", "Hobbies", max_length=200, description="爱好"),
)


def names(fields: Iterable[ChildField] | None = None) -> tuple[str, ...]:
    return tuple(field.name for field in (FIELDS if fields is None else fields))


def event_names(fields: Iterable[ChildField] | None = None) -> tuple[str, ...]:
    """The fields every registry event carries (ChildRegistered, ChildUpdated, …)."""
    return tuple(field.name for field in (FIELDS if fields is None else fields) if field.in_events)


def _field_info(field: ChildField, default: Any) -> Any:
    extra: dict[str, Any] = {}
    if field.max_length is not None:
        extra["max_length"] = field.max_length
    if field.description is not None:
        extra["description"] = field.description
    return Field(default=default, **extra)


def input_fields(fields: Iterable[ChildField] = FIELDS) -> dict[str, Any]:
    """`create_model` definitions for a create's body: left out means the default."""
    return {field.name: (field.kind if field.default is not None else field.kind | None,
                         _field_info(field, field.default)) for field in fields}


def patch_fields(fields: Iterable[ChildField] = FIELDS) -> dict[str, Any]:
    """For a patch: every field optional, left out means unchanged."""
    return {field.name: (field.kind | None, _field_info(field, None)) for field in fields}


def output_fields(fields: Iterable[ChildField] = FIELDS) -> dict[str, Any]:
    """For an answer: always present; null where the record has no value. (No length
    limits: a record imported before a limit existed is still answered.)"""
    return {field.name: (field.kind if field.default is not None else field.kind | None,
                         Field(..., description=field.description)) for field in fields}


def exported(field: ChildField, value: Any) -> Any:
    """A value as the export writes it: codes as their Chinese labels, yes/no as 是/否."""
    if value is None:
        return None
    if field.words is not None:
        return field.words.label(value)
    if field.kind is bool:
        return "是" if value else "否"
    return value

"""Clean text at the edge: the one rule for every text and integer a request carries.

Control characters (C0, DEL, C1; NUL above all) have no place in a name, a code or a note:
PostgreSQL refuses NUL with an error, spreadsheets refuse most of the others when a record is
exported, and terminals interpret them when a log is read. Integers beyond what a database
column holds fail deep inside a query. So both are refused where they come in, with a 422
that names the field and never echoes the value:

- request bodies: every input model derives from `CleanInput`, whose validator walks every
  field (nested lists, dicts and models too). A field annotated `MultiLineText` (or carrying
  the `MULTILINE` marker) may also hold tab, newline and carriage return; no other may.
  Integers without an explicit upper bound must fit a 32-bit column;
- query parameters, path parameters and header values: `clean_request`, a dependency every
  service app applies to every route (shared/http.py), with the same rules; integer
  parameters the route declares, and the version in `If-Match`, against the same range.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any

import annotated_types
from fastapi import Request
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# C0 controls, DEL and C1 controls; multi-line fields may keep tab, newline and carriage return.
_SINGLE_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MULTI_LINE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What a PostgreSQL integer column holds; an integer field with its own bounds keeps those.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


class _MultiLine:
    def __repr__(self) -> str:
        return "MULTILINE"


MULTILINE = _MultiLine()
MultiLineText = Annotated[str, MULTILINE]

CONTROL_REASON = "contains a control character"
RANGE_REASON = f"is out of range ({INT_MIN} to {INT_MAX})"


def has_control_character(value: str, *, multiline: bool = False) -> bool:
    pattern = _MULTI_LINE_FORBIDDEN if multiline else _SINGLE_LINE_FORBIDDEN
    return pattern.search(value) is not None


def strip_control_characters(value: str, *, multiline: bool = False) -> str:
    """For text already stored (exports, clean-up): drops what the edge now refuses."""
    pattern = _MULTI_LINE_FORBIDDEN if multiline else _SINGLE_LINE_FORBIDDEN
    return pattern.sub("", value)


def _problem(value: Any, multiline: bool, check_ints: bool) -> str | None:
    """The reason `value` (or anything inside it) is refused, or None."""
    if isinstance(value, str):
        return CONTROL_REASON if has_control_character(value, multiline=multiline) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return RANGE_REASON if check_ints and not INT_MIN <= value <= INT_MAX else None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _problem(key, False, check_ints) or _problem(item, multiline, check_ints)
            if problem:
                return problem
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        return next((p for p in (_problem(item, multiline, check_ints) for item in value) if p), None)
    if isinstance(value, BaseModel) and not isinstance(value, CleanInput):
        return _problem(dict(value), multiline, check_ints)
    return None  # a nested CleanInput checked its own fields


def _has_upper_bound(metadata: list[Any]) -> bool:
    return any(isinstance(item, (annotated_types.Le, annotated_types.Lt)) for item in metadata)


class CleanInput(BaseModel):
    """Base of every request body model: no control characters, no integer beyond a column."""

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        metadata = list(field.metadata) if field is not None else []
        annotation = field.annotation if field is not None else None
        multiline = any(item is MULTILINE for item in metadata) or _annotation_has_marker(annotation)
        problem = _problem(value, multiline, check_ints=not _has_upper_bound(metadata))
        if problem:
            raise PydanticCustomError("clean_text", problem)
        return value


def _annotation_has_marker(annotation: Any) -> bool:
    """`MultiLineText | None`, `list[MultiLineText]`: the marker sits inside the annotation."""
    if annotation is None:
        return False
    if typing.get_origin(annotation) is Annotated:
        return any(item is MULTILINE for item in typing.get_args(annotation)[1:]) \
            or _annotation_has_marker(typing.get_args(annotation)[0])
    return any(_annotation_has_marker(arg) for arg in typing.get_args(annotation))


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) or origin is Annotated:
        return any(_is_int(arg) for arg in typing.get_args(annotation))
    return False


def _error(location: str, name: str, reason: str) -> dict[str, Any]:
    # The name is echoed only when it is itself clean (it came from the client too).
    loc = (location, name) if name and not has_control_character(name) and len(name) <= 64 else (location,)
    return {"loc": loc, "msg": reason, "type": "clean_text"}


_CACHE_ATTRIBUTE = "_shouhu_declared_ints"


def _declared_ints(request: Request) -> dict[tuple[str, str], bool]:
    route = request.scope.get("route")
    if getattr(route, "dependant", None) is None:
        return {}
    # Kept on the route: walking its dependencies costs more than the checks themselves.
    declared = getattr(route, _CACHE_ATTRIBUTE, None)
    if declared is None:
        declared = _declared_ints_of(route)
        setattr(route, _CACHE_ATTRIBUTE, declared)
    return declared


def _declared_ints_of(route: Any) -> dict[tuple[str, str], bool]:
    """(location, alias) of each integer parameter the route declares → has its own upper bound."""
    flat = get_flat_dependant(route.dependant, skip_repeats=True)
    declared: dict[tuple[str, str], bool] = {}
    for location, params in (("query", flat.query_params), ("path", flat.path_params),
                             ("header", flat.header_params)):
        for param in params:
            if _is_int(param.field_info.annotation):
                key = (location, param.alias.lower() if location == "header" else param.alias)
                declared[key] = _has_upper_bound(param.field_info.metadata)
    return declared


def _bad_version(header_value: str) -> bool:
    """If-Match carries a record version (every service reads it as an integer): digits that
    are not ASCII, or more than a version column holds, are refused here."""
    value = header_value.strip().removeprefix("W/").strip('"')
    return value.isdigit() and (not value.isascii() or int(value) > INT_MAX)


def _int_out_of_range(raw: str) -> bool:
    try:
        return not INT_MIN <= int(raw.strip()) <= INT_MAX
    except ValueError:
        return False  # not an integer: the route's own validation answers


async def clean_request(request: Request) -> None:
    """App-wide dependency: query, path and header values are checked before any route sees them."""
    errors = []
    ints = _declared_ints(request)
    values: list[tuple[str, str, str]] = [("query", name, value) for name, value in request.query_params.multi_items()]
    values += [("path", name, str(value)) for name, value in request.path_params.items()]
    for raw_name, raw_value in request.headers.raw:
        try:
            value = raw_value.decode("utf-8")
        except UnicodeDecodeError:
            value = raw_value.decode("latin-1")
        values.append(("header", raw_name.decode("latin-1").lower(), value))
    for location, name, value in values:
        if has_control_character(name) or has_control_character(value):
            errors.append(_error(location, name, CONTROL_REASON))
        elif (location, name) in ints and not ints[(location, name)] and _int_out_of_range(value):
            errors.append(_error(location, name, RANGE_REASON))
        elif (location, name) == ("header", "if-match") and _bad_version(value):
            errors.append(_error(location, name, RANGE_REASON))
    if errors:
        raise RequestValidationError(errors)

"""The school register's rules, pure: how a sheet or a request names a school (its id, its
学校标识码 or its name within the county), and the rule that a county keeping a register
accepts only its schools."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from shared.rules import RuleViolation

UNKNOWN_SCHOOL = "不是本县学校名录中的学校，请核对学校名称或代码 / not a school of the county's register"
AMBIGUOUS_SCHOOL = "学校名称不唯一，请填写学校代码 / the school's name is not unique; give its code"


def school_words(rows: Iterable[Mapping[str, Any]]) -> dict[str, str | None]:
    """Every word a sheet may name a school by → its id (None when two schools share it)."""
    words: dict[str, str | None] = {}
    for row in rows:
        for word in filter(None, (row["id"], row["code"], row["name"], _spaceless(row["name"]))):
            words[word] = row["id"] if words.get(word, row["id"]) == row["id"] else None
    return words


def _spaceless(text: str | None) -> str | None:
    return text.replace(" ", "").replace("\u3000", "") if text else None


def resolve_school(words: dict[str, str | None] | None, value: str, field: str = "school_id") -> str:
    """The school id a sheet's cell names. `words` None: the county keeps no register yet,
    and the cell is taken as an id."""
    if words is None:
        return value
    key = value if value in words else _spaceless(value) or ""
    if key not in words:
        raise RuleViolation(field, UNKNOWN_SCHOOL)
    school_id = words[key]
    if school_id is None:
        raise RuleViolation(field, AMBIGUOUS_SCHOOL)
    return school_id

"""Edits of a record that never erase what the editor could not see. Pure functions.

A reader without `view_sensitive` sees phones, addresses and the national ID masked
(138****8000). Whatever an editor sends back is merged into the stored record:

- a field left out keeps its stored value;
- a masked value equal to the mask of the stored value keeps the stored value (the editor
  sent back what it was shown); a masked value that is not the stored value's mask is
  refused: it cannot be written and would otherwise erase a number;
- guardians and parents are entries with ids (`id`): an entry sent with its id changes only
  the fields sent; one without an id is a new entry; an entry left out of a whole list is
  removed. The per-entry routes add, change and remove one entry by its id.

Entries stored before ids existed get a stable id from the record's id and their position
(`entry_ids`), written with the record at its next change.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping
from uuid import UUID, uuid5

from services.registry.identity import mask_address, mask_national_id, mask_phone
from shared.rules import RuleViolation

MASK_CHARACTER = "*"
MASKED_REFUSED = ("遮蔽的值不能写入：请填写完整的值，或不提交该项 / a masked value cannot be written: "
                  "send the full value or leave the field out")
# Per group: which fields a reader may see masked, and how they are masked.
ENTRY_MASKS: dict[str, dict[str, Callable[[str], str]]] = {
    "guardians": {"phone": mask_phone, "address": mask_address},
    "parents": {"phone": mask_phone},
}
RECORD_MASKS: dict[str, Callable[[str], str]] = {"national_id": mask_national_id, "address": mask_address}
ENTRY_LABEL = {"guardians": "监护人", "parents": "父母"}
ENTRY_REQUIRED = {"guardians": ("relation", "name"), "parents": ("relation",)}


def is_masked(value: object) -> bool:
    return isinstance(value, str) and MASK_CHARACTER in value


def kept_or_new(stored: Any, sent: Any, mask: Callable[[str], str] | None, field: str) -> Any:
    """The value to store for a field that was sent: the stored one when `sent` is its mask."""
    if mask is None or not is_masked(sent):
        return sent
    if stored and mask(stored) == sent:
        return stored
    raise RuleViolation(field, MASKED_REFUSED)


def entry_ids(child_id: UUID, group: str, entries: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Entries with an id each: the stored one, or a stable one from the record and position."""
    return tuple(entry if entry.get("id") else {**entry, "id": str(uuid5(child_id, f"{group}:{index}"))}
                 for index, entry in enumerate(entries))


def refuse_masked(group: str, entry: Mapping[str, Any], path: str) -> None:
    """A new entry cannot carry a masked value: there is nothing stored it could stand for."""
    for field in ENTRY_MASKS[group]:
        if is_masked(entry.get(field)):
            raise RuleViolation(f"{path}.{field}", MASKED_REFUSED)


def changed_entry(group: str, stored: Mapping[str, Any], sent: Mapping[str, Any], path: str) -> dict[str, Any]:
    """`stored` with the fields `sent` carries (only those); masked values as above."""
    masks = ENTRY_MASKS[group]
    result = dict(stored)
    for field, value in sent.items():
        if field == "id":
            continue
        if value is None and field in ENTRY_REQUIRED[group]:
            raise RuleViolation(f"{path}.{field}", "不能清空 / cannot be removed")
        result[field] = kept_or_new(stored.get(field), value, masks.get(field), f"{path}.{field}")
    return result


def new_entry(group: str, sent: Mapping[str, Any], path: str, entry_id: UUID) -> dict[str, Any]:
    refuse_masked(group, sent, path)
    for field in ENTRY_REQUIRED[group]:
        if sent.get(field) is None:
            raise RuleViolation(f"{path}.{field}", "必填 / is required")
    return {**{k: v for k, v in sent.items() if k != "id"}, "id": str(entry_id)}


def merged_list(group: str, stored: tuple[dict[str, Any], ...], sent: list[dict[str, Any]],
                path: str, new_id: Callable[[], UUID]) -> tuple[dict[str, Any], ...]:
    """A whole list sent back: entries by id merged, without id added, left out removed.
    `sent` holds, per entry, only the fields the caller set."""
    by_id = {entry["id"]: entry for entry in stored}
    result = []
    for index, entry in enumerate(sent):
        at = f"{path}.{index}"
        entry_id = entry.get("id")
        if entry_id is None:
            result.append(new_entry(group, entry, at, new_id()))
        elif str(entry_id) in by_id:
            result.append(changed_entry(group, by_id[str(entry_id)], entry, at))
        else:
            raise RuleViolation(f"{at}.id", f"没有这个{ENTRY_LABEL[group]} / no such entry in this record")
    return tuple(result)


def find_entry(group: str, entries: tuple[dict[str, Any], ...], entry_id: UUID) -> int:
    """The position of the entry with this id; 404 when the record has none."""
    for index, entry in enumerate(entries):
        if entry.get("id") == str(entry_id):
            return index
    raise RuleViolation("path.entry_id", f"没有这个{ENTRY_LABEL[group]} / no such entry in this record", 404)

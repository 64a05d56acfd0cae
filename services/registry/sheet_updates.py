"""A re-uploaded sheet's row against the record its national ID names (动态管理 by sheet).
Pure functions: no I/O.

- `same_child`: the name and birth date agree. Otherwise the row carries another child's
  ID: a conflict, never "already registered".
- `proposed_changes`: what the row would change, field by field. A blank cell changes
  nothing (a sheet cannot say "remove"; that is an edit in the record), and neither does a
  column the sheet does not have. Guardians are matched by name, parents by relation: a
  changed phone changes that entry, an unknown guardian is a new entry. Sensitive
  categories are only ever added by a sheet.
- `apply_changes`: the record with the confirmed changes (an entry that has gone since is
  refused as stale).
- `shown_changes`: field, old → new, masked as the reader's view of the record is.

A change is a list of items {"field", "entry" (an entry's id, for guardians.* and
parents.*), "new"}; field "guardians"/"parents" with no entry adds a whole entry.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping
from uuid import uuid4

from services.registry import child_fields
from services.registry.domain import NewChild
from services.registry.sheets import BY_KEY
from services.registry.identity import mask_address, mask_phone
from shared.contracts import Jurisdiction
from shared.rules import RuleViolation

Change = dict[str, Any]

# Record fields a sheet may change, and the cells that carry each: the plain fields the
# template has a column for (child_fields.py), then the fields with rules of their own.
_RECORD_CELLS: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in child_fields.names() if name in BY_KEY},
    "school_id": ("school_id",), "address": ("address",), "priority_reason": ("priority_reason",),
    "categories": ("categories", "sensitive_categories"), "particulars": ("particulars",),
}
_GUARDIAN_CELLS = {"relation": "guardian_relation", "relation_word": "guardian_relation", "name": "guardian_name",
                   "age": "guardian_age", "health": "guardian_health", "occupation": "guardian_occupation",
                   "phone": "guardian_phone", "address": "guardian_address"}
_PARENT_FIELDS = ("name", "work_place", "phone", "away_since")
# How a reader without clear values sees a field: a mask, or nothing at all (None).
_MASKS: dict[str, Callable[[str], str] | None] = {
    "address": mask_address, "guardians.phone": mask_phone, "guardians.address": mask_address,
    "parents.phone": mask_phone, "sensitive_categories": None, "priority_reason": None, "particulars": None,
}
LABELS = {
    **{field.name: field.zh for field in child_fields.FIELDS},
    "school_id": "学校", "address": "家庭住址", "priority_reason": "重点关注原因",
    "categories": "儿童类别", "sensitive_categories": "困境类别", "jurisdiction": "所在地",
    "guardians": "监护人", "parents": "父母", "particulars": "特殊情况",
    **{f"guardians.{k}": f"监护人{v}" for k, v in {"relation": "关系", "relation_word": "关系", "name": "姓名",
                                                "age": "年龄", "health": "健康状况", "occupation": "职业",
                                                "phone": "电话", "address": "住址"}.items()},
    **{f"parents.{k}": f"父母{v}" for k, v in {"name": "姓名", "work_place": "务工地", "phone": "电话",
                                             "away_since": "外出时间"}.items()},
}


def _given(raw: Mapping[str, Any], cell: str) -> bool:
    return raw.get(cell) not in (None, "")


def same_child(stored: NewChild, sheet: NewChild) -> bool:
    return stored.name == sheet.name and stored.birth_date == sheet.birth_date


def proposed_changes(stored: NewChild, sheet: NewChild, raw: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    for field, cells in _RECORD_CELLS.items():
        if any(_given(raw, cell) for cell in cells):
            new, old = getattr(sheet, field), getattr(stored, field)
            if isinstance(new, tuple):
                new, old = list(new), list(old)
            if new != old:
                changes.append({"field": field, "new": new})
    added = sorted(set(sheet.sensitive_categories) - set(stored.sensitive_categories))
    if added:
        changes.append({"field": "sensitive_categories", "new": sorted({*stored.sensitive_categories, *added})})
    place = _place(stored.jurisdiction, sheet.jurisdiction, raw)
    if place != stored.jurisdiction:
        changes.append({"field": "jurisdiction", "new": place.model_dump()})
    changes.extend(_guardian_changes(stored, sheet, raw))
    changes.extend(_parent_changes(stored, sheet))
    return changes


def _place(stored: Jurisdiction, sheet: Jurisdiction, raw: Mapping[str, Any]) -> Jurisdiction:
    township = sheet.township_code if _given(raw, "township_code") else stored.township_code
    if _given(raw, "village_code"):
        village = sheet.village_code
    else:  # a village left blank stays, unless the township changed under it
        village = stored.village_code if township == stored.township_code else None
    return Jurisdiction(county_code=stored.county_code, township_code=township, village_code=village)


def _entry_changes(group: str, stored: Mapping[str, Any], new: Mapping[str, Any], fields: Any) -> list[Change]:
    return [{"field": f"{group}.{field}", "entry": stored["id"], "new": new.get(field)}
            for field in fields if new.get(field) is not None and new.get(field) != stored.get(field)]


def _guardian_changes(stored: NewChild, sheet: NewChild, raw: Mapping[str, Any]) -> list[Change]:
    if not sheet.guardians:
        return []
    new = sheet.guardians[0]
    given = [field for field, cell in _GUARDIAN_CELLS.items() if _given(raw, cell)]
    for entry in stored.guardians:
        if entry.get("name") == new.get("name"):
            return _entry_changes("guardians", entry, new, given)
    return [{"field": "guardians", "entry": None, "new": dict(new)}]


def _parent_changes(stored: NewChild, sheet: NewChild) -> list[Change]:
    changes: list[Change] = []
    for new in sheet.parents:
        entry = next((p for p in stored.parents if p.get("relation") == new["relation"]), None)
        if entry is None:
            changes.append({"field": "parents", "entry": None, "new": dict(new)})
        else:
            changes.extend(_entry_changes("parents", entry, new, _PARENT_FIELDS))
    return changes


def changed_fields(changes: list[Change]) -> list[str]:
    return list(dict.fromkeys(change["field"] for change in changes))


def moves(changes: list[Change]) -> bool:
    """Whether the change moves the child (another township, village or school): a transfer."""
    return any(change["field"] in ("jurisdiction", "school_id") for change in changes)


def apply_changes(child: NewChild, changes: list[Change]) -> NewChild:
    record: dict[str, Any] = {}
    entries = {"guardians": [dict(g) for g in child.guardians], "parents": [dict(p) for p in child.parents]}
    for change in changes:
        field, new = change["field"], change["new"]
        group, _, part = field.partition(".")
        if group in entries and not part:
            entries[group].append({**new, "id": str(uuid4())})
        elif group in entries:
            entry = next((e for e in entries[group] if e.get("id") == change["entry"]), None)
            if entry is None:
                raise RuleViolation(field, "该项已被删除，请重新上传核对 / the entry has since been removed")
            entry[part] = new
        elif field == "jurisdiction":
            record[field] = Jurisdiction(**new)
        elif field in ("categories", "sensitive_categories"):
            record[field] = tuple(new)
        else:
            record[field] = new
    if record.get("priority") is False and "priority_reason" not in record:
        record["priority_reason"] = None
    return replace(child, **record, guardians=tuple(entries["guardians"]), parents=tuple(entries["parents"]))


def _shown(field: str, value: Any, unmask: bool) -> Any:
    if value is None or unmask or field not in _MASKS:
        if isinstance(value, dict) and not unmask:  # a whole new entry: its phone and address masked
            group = field
            return {k: _shown(f"{group}.{k}", v, unmask) for k, v in value.items()}
        return value
    mask = _MASKS[field]
    return mask(value) if mask is not None else None


def _old(child: NewChild, change: Change) -> Any:
    field = change["field"]
    group, _, part = field.partition(".")
    if group in ("guardians", "parents"):
        if not part:
            return None
        entry = next((e for e in getattr(child, group) if e.get("id") == change["entry"]), {})
        return entry.get(part)
    value = getattr(child, field)
    if isinstance(value, Jurisdiction):
        return value.model_dump()
    return list(value) if isinstance(value, tuple) else value


def shown_changes(child: NewChild, changes: list[Change], *, unmask: bool) -> list[dict[str, Any]]:
    """Each change as a reader sees it: field, its Chinese label, entry, old → new (masked
    per role: phones and addresses masked, sensitive fields null, unless unmasked)."""
    return [{"field": change["field"], "label": LABELS.get(change["field"], change["field"]),
             "entry": change.get("entry"), "old": _shown(change["field"], _old(child, change), unmask),
             "new": _shown(change["field"], change["new"], unmask)}
            for change in changes]



"""Backward compatibility of event schemas: what a subscriber written against the old
schema can still read. Additive changes pass; removals, type changes, narrowed enums and
new required fields do not."""

from __future__ import annotations

from typing import Any


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for event_type, old_schema in old["events"].items():
        new_schema = new["events"].get(event_type)
        if new_schema is None:
            problems.append(f"{event_type}: removed (publish a new version beside it instead)")
            continue
        _compare_object(event_type, old_schema, new_schema, old_schema, new_schema, problems)
    return problems


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _compare_object(path: str, old: Any, new: Any, old_root: Any, new_root: Any, problems: list[str]) -> None:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for field, old_field in old_props.items():
        if field not in new_props:
            problems.append(f"{path}.{field}: removed")
            continue
        _compare_value(f"{path}.{field}", old_field, new_props[field], old_root, new_root, problems)
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for field in sorted(newly_required):
        problems.append(f"{path}.{field}: became required")


def _variants(schema: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return [v for option in schema["anyOf"] for v in _variants(option, root)]
    return [schema]


def _compare_value(path: str, old: Any, new: Any, old_root: Any, new_root: Any, problems: list[str]) -> None:
    old_variants, new_variants = _variants(old, old_root), _variants(new, new_root)
    for old_variant in old_variants:
        same_kind = [n for n in new_variants if _kind(n) == _kind(old_variant)]
        if not same_kind:
            problems.append(f"{path}: type {_kind(old_variant)} no longer accepted")
            continue
        if "enum" in old_variant or "const" in old_variant:
            allowed = _allowed_values(same_kind)
            if allowed is not None and not _values(old_variant) <= allowed:
                problems.append(f"{path}: values {sorted(_values(old_variant) - allowed)} removed")
            continue
        match = same_kind[0]
        if old_variant.get("format") != match.get("format"):
            problems.append(f"{path}: format changed")
        if old_variant.get("pattern") != match.get("pattern") and "pattern" in match:
            problems.append(f"{path}: pattern changed")
        if _kind(old_variant) == "object":
            _compare_object(path, old_variant, match, old_root, new_root, problems)
        if _kind(old_variant) == "array" and "items" in old_variant and "items" in match:
            _compare_value(f"{path}[]", old_variant["items"], match["items"], old_root, new_root, problems)


def _values(schema: dict[str, Any]) -> set[Any]:
    return set(schema["enum"]) if "enum" in schema else {schema.get("const")}


def _allowed_values(variants: list[dict[str, Any]]) -> set[Any] | None:
    """Every value the variants accept together; None when one of them accepts any value."""
    allowed: set[Any] = set()
    for variant in variants:
        if "enum" not in variant and "const" not in variant:
            return None
        allowed |= _values(variant)
    return allowed


def _kind(schema: dict[str, Any]) -> str:
    if "type" in schema:
        return str(schema["type"])
    if "enum" in schema or "const" in schema:
        return "string"
    return "any"

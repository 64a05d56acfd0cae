"""The AsyncAPI 3 document of the events Shouhu publishes, built from the event models.

Every schema lives once under `components.schemas` (the events and what they share, such
as `Jurisdiction`) and is referred to from there, so the official tools resolve every
`$ref`; each topic is a channel with one `send` operation; each message carries the
CloudEvents headers, its Kafka key and an example built from its own schema and checked
against its model."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from shared.contracts.events import ALL_EVENTS, TOPICS, Event

SCHEMAS = "#/components/schemas/{model}"
EXAMPLE_TIME = "2026-03-02T08:30:00Z"
EXAMPLE_IDS = {"child_id": "0b7e4d8a-3c1f-4f5e-9a2b-6d8c1e2f3a4b", "caregiver_id": "5f2c9e1d-7a3b-4c8d-9e0f-1a2b3c4d5e6f"}
DIVISION_CODES = {"county": "330102000000", "township": "330102001000", "village": "330102001001"}


def _channel_id(topic: str) -> str:
    # shouhu.registry.events.v1 -> registryEvents
    service = topic.split(".")[1]
    return f"{service}Events"


def _message_id(cls: type[Event]) -> str:
    return f"{cls.name}V{cls.version}"


def _example_value(name: str, schema: dict[str, Any], schemas: dict[str, Any]) -> Any:
    if "$ref" in schema:
        return _example_object(schemas[schema["$ref"].rpartition("/")[2]], schemas)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        chosen = next((s for s in schema["anyOf"] if s.get("type") != "null"), {"type": "null"})
        return _example_value(name, chosen, schemas)
    kind = schema.get("type")
    if kind == "object":
        return _example_object(schema, schemas)
    if kind == "array":
        return [_example_value(name, schema.get("items", {}), schemas)]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return EXAMPLE_IDS.get(name, "9d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")
        if fmt == "date-time":
            return EXAMPLE_TIME
        if fmt == "date":
            return EXAMPLE_TIME[:10]
        if schema.get("pattern") == r"^\d{12}$":
            return next((code for level, code in DIVISION_CODES.items() if level in name), DIVISION_CODES["village"])
        return "school-1" if "school" in name else "example"
    return None


def _example_object(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties", {})
    return {name: _example_value(name, prop, schemas) for name, prop in properties.items()}


def example_payload(cls: type[Event], schemas: dict[str, Any]) -> dict[str, Any]:
    """A payload built from the event's schema; the model must accept it."""
    payload = _example_object(schemas[cls.__name__], schemas)
    cls.model_validate(payload)
    return payload


def _headers(cls: type[Event]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject"],
        "properties": {
            "ce_id": {"type": "string", "format": "uuid"},
            "ce_source": {"type": "string", "const": cls.source},
            "ce_type": {"type": "string", "const": cls.cloudevent_type()},
            "ce_specversion": {"type": "string", "const": "1.0"},
            "ce_time": {"type": "string", "format": "date-time"},
            "ce_subject": {"type": "string", "description": f"the {cls.key_field}, also the Kafka key"},
            "content-type": {"type": "string", "const": "application/json"},
        },
    }


def build_asyncapi() -> dict[str, Any]:
    _, definitions = models_json_schema([(cls, "validation") for cls in ALL_EVENTS], ref_template=SCHEMAS)
    schemas: dict[str, Any] = definitions.get("$defs", {})
    messages = {}
    for cls in ALL_EVENTS:
        assert cls.__name__ in schemas, cls
        payload = example_payload(cls, schemas)
        key = str(payload[cls.key_field])
        messages[_message_id(cls)] = {
            "name": cls.cloudevent_type(),
            "title": f"{cls.name} v{cls.version}",
            "summary": (cls.__doc__ or cls.name).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": _headers(cls),
            "payload": {"$ref": SCHEMAS.format(model=cls.__name__)},
            "bindings": {"kafka": {"bindingVersion": "0.5.0", "key": {
                "type": "string", "format": "uuid", "description": f"the {cls.key_field}"}}},
            "examples": [{
                "name": cls.name,
                "summary": f"a {cls.name} event (synthetic values)",
                "headers": {"ce_id": "6a0c3f52-1d2e-4b3c-8d4e-5f6a7b8c9d0e", "ce_source": cls.source,
                            "ce_type": cls.cloudevent_type(), "ce_specversion": "1.0", "ce_time": EXAMPLE_TIME,
                            "ce_subject": key, "content-type": "application/json"},
                "payload": payload,
            }],
        }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in TOPICS:
        channel = _channel_id(topic)
        published = [cls for cls in ALL_EVENTS if cls.topic == topic]
        channels[channel] = {
            "address": topic,
            "title": topic,
            "description": "The Kafka topic; a deployment may prefix it (SHOUHU_KAFKA_TOPIC_PREFIX).",
            "messages": {_message_id(cls): {"$ref": f"#/components/messages/{_message_id(cls)}"} for cls in published},
        }
        operations[f"publish{channel[0].upper()}{channel[1:]}"] = {
            "action": "send",
            "title": f"Shouhu publishes on {topic}",
            "summary": ", ".join(cls.name for cls in published),
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{_message_id(cls)}"} for cls in published],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Shouhu events",
            "version": "1.0.0",
            "description": "Events Shouhu publishes for other government systems. CloudEvents 1.0, "
                           "Kafka binary content mode. Everything about a child is keyed by child id "
                           "(so it stays in order); caregiver events by caregiver id; notification "
                           "outcomes by notification id. No personal data.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def local_refs(document: Any) -> set[str]:
    """Every `$ref` in the document (to check that each resolves)."""
    found: set[str] = set()
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value)
            else:
                found |= local_refs(value)
    elif isinstance(document, list):
        for item in document:
            found |= local_refs(item)
    return found

"""CloudEvents 1.0 in Kafka's binary content mode, the same for every topic.

Attributes travel as `ce_*` headers (id, source, type, specversion, time, subject) plus
`content-type`; the value is the event's JSON; the key is the child id. The cloudevents
SDK writes the binding so that subscribers using any CloudEvents SDK read us as written
(the current SDK, 2.x, `cloudevents.core.bindings.kafka`, and 1.x, `cloudevents.kafka`, where
an environment has not moved yet: both write the same headers); `decode` reads those headers
itself (the SDK's reader was the costliest step of a consumer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar
from uuid import UUID, uuid4

try:
    from cloudevents.core.bindings import kafka as binding  # type: ignore[import-not-found,unused-ignore]
    from cloudevents.core.v1.event import CloudEvent as CloudEventV1  # type: ignore[import-not-found,unused-ignore]

    SDK_MAJOR = 2
except ImportError:  # the 1.x SDK: the same binding under its former names
    from cloudevents import kafka as binding_v1  # type: ignore[attr-defined,unused-ignore]
    from cloudevents.http import CloudEvent as HttpCloudEvent  # type: ignore[import-not-found,unused-ignore]

    SDK_MAJOR = 1

from shared import clock
from shared.contracts.events import Event, event_class_for

E = TypeVar("E", bound=Event)


class UnknownEventType(ValueError):
    """A message whose type this build does not know; consumers skip it."""


class Envelope(NamedTuple, Generic[E]):
    """An event with its CloudEvents attributes. Immutable; a named tuple rather than a
    frozen dataclass because a consumer makes one per message (a third of the cost)."""

    id: UUID
    type: str
    source: str
    subject: str
    time: datetime
    data: E


@dataclass(frozen=True)
class EncodedEvent:
    event_id: UUID
    topic: str
    key: str
    headers: dict[str, str]
    value: bytes


def encode(event: Event, *, event_id: UUID | None = None, time: datetime | None = None) -> EncodedEvent:
    attributes = {
        "id": str(event_id or uuid4()),
        "type": event.cloudevent_type(),
        "source": event.source,
        "subject": event.partition_key(),
        "time": (time or clock.from_env().now()).isoformat(),
        "datacontenttype": "application/json",
    }
    headers, value = _to_binary(attributes, event.model_dump(mode="json"))
    return EncodedEvent(
        event_id=UUID(attributes["id"]),
        topic=event.topic,
        key=event.partition_key(),
        headers={name: raw.decode() for name, raw in headers.items()},
        value=value,
    )


def _to_binary(attributes: dict[str, Any], data: dict[str, Any]) -> tuple[dict[str, bytes], bytes]:
    """The `ce_*` and `content-type` headers and the JSON value; the key is the subject."""
    if SDK_MAJOR == 2:
        event = CloudEventV1({**attributes, "time": datetime.fromisoformat(attributes["time"])}, data)
        message = binding.to_binary_event(event, key_mapper=lambda ce: ce.get_subject())
        return dict(message.headers), message.value
    old = binding_v1.to_binary(HttpCloudEvent(attributes, data), key_mapper=lambda ce: ce["subject"])
    return dict(old.headers), old.value if isinstance(old.value, bytes) else old.value.encode()


def decode(headers: list[tuple[str, bytes]] | dict[str, bytes], key: bytes | None, value: bytes) -> Envelope[Any]:
    """Raises UnknownEventType for a type we do not know, ValueError for a broken message.

    Reads the binary mode's `ce_*` headers directly and validates the value with the event's
    model straight from JSON: the SDK's `from_binary` (a CloudEvent object, then a dict, then
    the model) cost three times what a bare consumer spends on a message, which bounded every
    consumer and the reports' rebuild. The rules are the binding's: specversion 1.0 and the
    required attributes id, source, type; `time` is required by our contract."""
    try:
        pairs = headers.items() if isinstance(headers, dict) else headers
        attributes = {name[3:]: raw.decode() if isinstance(raw, (bytes, bytearray)) else str(raw)
                      for name, raw in pairs if name.startswith("ce_")}
    except (UnicodeDecodeError, AttributeError) as exc:
        raise ValueError(f"not a CloudEvent: {type(exc).__name__}") from exc
    missing = [name for name in _REQUIRED if not attributes.get(name)]
    if missing or attributes["specversion"] != "1.0":
        raise ValueError(f"not a CloudEvent: missing or wrong {', '.join(missing) or 'specversion'}")
    event_class = event_class_for(attributes["type"])
    if event_class is None:
        raise UnknownEventType(attributes["type"])
    try:
        event_id, at = UUID(attributes["id"]), datetime.fromisoformat(attributes["time"])
    except ValueError as exc:
        raise ValueError(f"not a CloudEvent: {type(exc).__name__} in id or time") from exc
    return Envelope(
        id=event_id,
        type=attributes["type"],
        source=attributes["source"],
        subject=attributes.get("subject", ""),
        time=at,
        data=event_class.model_validate_json(value or b"null"),
    )


_REQUIRED = ("specversion", "id", "source", "type", "time")

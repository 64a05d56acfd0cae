"""CloudEvents 1.0 in Kafka's binary content mode, the same for every topic.

Attributes travel as `ce_*` headers (id, source, type, specversion, time, subject) plus
`content-type`; the value is the event's JSON; the key is the child id. The cloudevents
SDK does the binding so that subscribers using any CloudEvents SDK read us as written:
the current SDK (2.x, `cloudevents.core.bindings.kafka`), and 1.x (`cloudevents.kafka`)
where an environment has not moved yet; both write and read the same headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
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


@dataclass(frozen=True)
class Envelope(Generic[E]):
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


def _from_binary(headers: dict[str, bytes], key: bytes | None, value: bytes) -> tuple[dict[str, Any], Any]:
    """The attributes (time as a string) and the decoded JSON data."""
    if SDK_MAJOR == 2:
        event = binding.from_binary_event(binding.KafkaMessage(headers=headers, key=key, value=value))
        attributes = dict(event.get_attributes())
        if isinstance(attributes.get("time"), datetime):
            attributes["time"] = attributes["time"].isoformat()
        return attributes, event.get_data()
    old = binding_v1.from_binary(binding_v1.KafkaMessage(headers=headers, key=key, value=value),
                                 data_unmarshaller=lambda raw: json.loads(raw) if raw else None)
    return dict(old.get_attributes()), old.data


def decode(headers: list[tuple[str, bytes]] | dict[str, bytes], key: bytes | None, value: bytes) -> Envelope[Any]:
    """Raises UnknownEventType for a type we do not know, ValueError for a broken message."""
    header_map = dict(headers)
    try:
        attributes, data = _from_binary(header_map, key, value)
    except Exception as exc:  # the SDK raises several types for malformed messages
        raise ValueError(f"not a CloudEvent: {type(exc).__name__}") from exc
    event_class = event_class_for(attributes["type"])
    if event_class is None:
        raise UnknownEventType(attributes["type"])
    return Envelope(
        id=UUID(attributes["id"]),
        type=attributes["type"],
        source=attributes["source"],
        subject=attributes.get("subject", ""),
        time=datetime.fromisoformat(attributes["time"]),
        data=event_class.model_validate(data),
    )

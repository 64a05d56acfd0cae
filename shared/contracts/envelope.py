"""CloudEvents 1.0 in Kafka's binary content mode, the same for every topic.

Attributes travel as `ce_*` headers (id, source, type, specversion, time, subject) plus
`content-type`; the value is the event's JSON; the key is the child id. The cloudevents
SDK does the binding so that subscribers using any CloudEvents SDK read us as written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

from cloudevents.http import CloudEvent
from cloudevents.kafka import KafkaMessage, from_binary, to_binary

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
    cloud_event = CloudEvent(attributes, event.model_dump(mode="json"))
    message = to_binary(cloud_event, key_mapper=lambda ce: ce["subject"])
    return EncodedEvent(
        event_id=UUID(attributes["id"]),
        topic=event.topic,
        key=event.partition_key(),
        headers={name: value.decode() for name, value in message.headers.items()},
        value=message.value if isinstance(message.value, bytes) else message.value.encode(),
    )


def decode(headers: list[tuple[str, bytes]] | dict[str, bytes], key: bytes | None, value: bytes) -> Envelope[Any]:
    """Raises UnknownEventType for a type we do not know, ValueError for a broken message."""
    header_map = dict(headers)
    try:
        cloud_event = from_binary(
            KafkaMessage(headers=header_map, key=key, value=value),
            data_unmarshaller=lambda raw: json.loads(raw) if raw else None,
        )
    except Exception as exc:  # the SDK raises several types for malformed messages
        raise ValueError(f"not a CloudEvent: {type(exc).__name__}") from exc
    attributes = cloud_event.get_attributes()
    event_class = event_class_for(attributes["type"])
    if event_class is None:
        raise UnknownEventType(attributes["type"])
    return Envelope(
        id=UUID(attributes["id"]),
        type=attributes["type"],
        source=attributes["source"],
        subject=attributes.get("subject", ""),
        time=datetime.fromisoformat(attributes["time"]),
        data=event_class.model_validate(cloud_event.data),
    )

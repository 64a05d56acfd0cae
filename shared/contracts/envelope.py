"""CloudEvents 1.0 in Kafka's binary content mode, the same for every topic.

Attributes travel as `ce_*` headers (id, source, type, specversion, time, subject) plus
`content-type`; the value is the event's JSON; the key is the child id. The cloudevents
SDK writes the binding so that subscribers using any CloudEvents SDK read us as written
(the current SDK, 2.x, `cloudevents.core.bindings.kafka`, and 1.x, `cloudevents.kafka`, where
an environment has not moved yet: both write the same headers); `decode` reads those headers
itself (the SDK's reader was the costliest step of a consumer).
"""

from __future__ import annotations

import operator
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
    event_class, attributes = read_attributes(headers)
    return Envelope(
        id=attributes.event_id(),
        type=attributes.type,
        source=attributes.source,
        subject=attributes.subject,
        time=attributes.time,
        data=event_class.model_validate_json(value or b"null"),
    )


class Attributes(NamedTuple):
    """A message's CloudEvents attributes as read from its headers; the id left as text
    (`event_id()` parses it) for readers that do not use it, such as a replay."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime

    def event_id(self) -> UUID:
        try:
            return UUID(self.id)
        except ValueError as exc:
            raise ValueError(f"not a CloudEvent: {type(exc).__name__} in id or time") from exc


def read_attributes(headers: list[tuple[str, bytes]] | dict[str, bytes]) -> tuple[type[Event], Attributes]:
    """The event's class and its attributes; raises UnknownEventType or ValueError as
    `decode` does (the id's form is checked by `Attributes.event_id`).

    Only the attributes we read are looked up, in one dict of the headers (a record's headers
    are a list of pairs; the last of a repeated name wins, as before), and the six are decoded
    in one call (joined, decoded, split): a comprehension decoding every header, or a call
    per attribute, cost as much as validating the value."""
    found = headers if isinstance(headers, dict) else dict(headers)
    try:
        texts = b"\0".join(_ATTRIBUTE_HEADERS(found)).decode().split("\0")
    except (KeyError, TypeError, UnicodeDecodeError):  # one missing (subject is optional), text, not UTF-8
        texts = []
    if len(texts) != len(_ATTRIBUTES):  # also a NUL inside a value
        try:
            texts = [_text(found.get(f"ce_{name}")) for name in _ATTRIBUTES]
        except (UnicodeDecodeError, AttributeError, TypeError, ValueError) as exc:
            raise ValueError(f"not a CloudEvent: {type(exc).__name__}") from exc
    specversion, event_id, source, type_, at, subject = texts
    if not (event_id and source and type_ and at) or specversion != "1.0":
        missing = [name for name, text in zip(_REQUIRED, texts) if not text]
        raise ValueError(f"not a CloudEvent: missing or wrong {', '.join(missing) or 'specversion'}")
    event_class = event_class_for(type_)
    if event_class is None:
        raise UnknownEventType(type_)
    try:
        parsed = datetime.fromisoformat(at)
    except ValueError as exc:
        raise ValueError(f"not a CloudEvent: {type(exc).__name__} in id or time") from exc
    return event_class, Attributes(event_id, type_, source, subject, parsed)


def _text(raw: Any) -> str:
    """A header's value as text ("" when absent)."""
    if raw is None:
        return ""
    return raw.decode() if isinstance(raw, (bytes, bytearray)) else str(raw)


_REQUIRED = ("specversion", "id", "source", "type", "time")
_ATTRIBUTES = (*_REQUIRED, "subject")
_ATTRIBUTE_HEADERS = operator.itemgetter(*(f"ce_{name}" for name in _ATTRIBUTES))

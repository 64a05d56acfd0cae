"""Reading a log back without validating each event again: for a replay from offset 0 (the
reports' rebuild), where every message was validated by its model when it was published.

`decode_replayed` gives an Envelope whose `data` is an event's *facts*: an object with the
model's fields as attributes (defaults filled in, unknown fields ignored, dates and times
parsed, nested models read the same way), not the model itself. What it leaves out is what
the publisher already checked: ids stay text (asyncpg writes text into uuid columns, and
parsing three UUIDs cost more than the rest of the event), patterns, bounds and literals are
not checked. The readers are made from the contract's models, so an event added to the
contract is read without code here; a model this module cannot read (a field type it does
not know, a validator) is validated as `decode` does.

Measured on 20,000 recorded messages: `model_validate_json` ~4–5 µs an event unloaded, this
~1 µs plus the JSON parse (pydantic_core's, ~0.6 µs), which mattered once the rest of the
rebuild cost 15 µs an event.
"""

from __future__ import annotations

import types
from datetime import date, datetime
from functools import cache
from typing import Any, Callable, Literal, Union, cast, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel
from pydantic_core import PydanticUndefined, from_json

from shared.contracts.envelope import Envelope, read_attributes
from shared.contracts.events import ALL_EVENTS, Event


class Facts(types.SimpleNamespace):
    """An event's fields as attributes. Its class carries the model's (`model`, and `name`
    for events), so `type(facts).name` reads as it does on the model."""

    model: type[BaseModel]


def decode_replayed(headers: list[tuple[str, bytes]] | dict[str, bytes], value: bytes) -> Envelope[Any]:
    """The envelope of a message published through our contract, its data an event's Facts
    (or the validated model, for a model without a reader, or a value the reader could not
    read: never less accepting than `decode`). Raises UnknownEventType and ValueError as
    `decode` does. The id is left as text, like the facts' ids (a replay writes facts; the
    text serves as a query argument and prints the same).

    Headers as our producers write them (every attribute, bytes, a known type) are read
    here with a look-up per attribute; anything else goes through `read_attributes`, which
    reads them as `decode` does or raises as it does."""
    found = headers if isinstance(headers, dict) else dict(headers)
    try:
        event_class, type_, reader = _BY_TYPE_HEADER[found["ce_type"]]
        event_id, source = found["ce_id"].decode(), found["ce_source"].decode()
        subject, at = found.get("ce_subject", b"").decode(), datetime.fromisoformat(found["ce_time"].decode())
        if found["ce_specversion"] != b"1.0" or not (event_id and source):
            raise KeyError("ce_specversion")
    except (KeyError, TypeError, AttributeError, ValueError):  # not bytes, not UTF-8, not a time, missing
        event_class, attributes = read_attributes(headers)
        event_id, type_, source, subject, at = attributes
        reader = reader_for(event_class)
    try:
        if reader is None:
            raise ValueError("no reader")
        # Only the keys are worth caching: the values (ids, times) rarely repeat, and
        # caching each one cost more than it saved (~0.6 µs an event of ~5).
        data: Any = reader(from_json(value, cache_strings="keys"))
    except (ValueError, TypeError, KeyError, AttributeError):
        data = event_class.model_validate_json(value or b"null")
    # The tuple made directly: the named tuple's own __new__ is a Python call, ~0.4 µs of
    # the ~8 µs an event costs here. The id is text: see above.
    return _new_tuple(Envelope, (cast(UUID, event_id), type_, source, subject, at, data))


@cache
def reader_for(model: type[BaseModel]) -> Callable[[Any], Facts] | None:
    """A function from the model's JSON (parsed) to its Facts; None when the model has
    something a plain reading would skip (validators, aliases, a field type not known here)."""
    decorators = model.__pydantic_decorators__
    if (decorators.field_validators or decorators.model_validators or decorators.validators
            or decorators.root_validators):
        return None
    facts_class: type[Facts] = type(f"{model.__name__}Facts", (Facts,), {
        "model": model, **({"name": model.name} if issubclass(model, Event) else {})})
    defaults: dict[str, Any] = {}
    required: set[str] = set()
    conversions: list[tuple[str, Callable[[Any], Any]]] = []
    for name, field in model.model_fields.items():
        if field.alias or field.validation_alias or field.default_factory is not None:
            return None
        if field.default is PydanticUndefined:
            required.add(name)
        else:
            defaults[name] = field.default
        convert = _conversion(field.annotation)
        if convert is _UNKNOWN:
            return None
        if convert is not None:
            conversions.append((name, convert))
    known, needed = frozenset(model.model_fields), frozenset(required)

    def read(data: Any) -> Facts:
        if data.keys() != known:  # what our producers write is every field: nothing to fill in
            if not isinstance(data, dict) or not data.keys() >= needed:
                raise ValueError(f"{model.__name__}: not a JSON object with {', '.join(sorted(needed))}")
            data = {**defaults, **{key: value for key, value in data.items() if key in known}}
        for name, convert in conversions:
            if data[name] is not None:
                data[name] = convert(data[name])
        return facts_class(**data)

    return read


_UNKNOWN: Callable[[Any], Any] = lambda value: value  # noqa: E731 (a marker: a type not read here)
_AS_IS = (str, int, bool, UUID)  # JSON gives them as they are written (ids as text)


def _conversion(annotation: Any) -> Callable[[Any], Any] | None:
    """How a JSON value becomes the field's value: None when it already is; _UNKNOWN when
    this module does not know the type (the model is then validated instead)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _conversion(inner[0]) if len(inner) == 1 else _UNKNOWN
    if origin is Literal:
        return None
    if origin is tuple:
        args = get_args(annotation)
        item = _conversion(args[0]) if len(args) == 2 and args[1] is Ellipsis else _UNKNOWN
        if item is None:
            return tuple
        return _UNKNOWN if item is _UNKNOWN else lambda values: tuple(item(value) for value in values)
    if annotation is datetime:
        return datetime.fromisoformat
    if annotation is date:
        return date.fromisoformat
    if annotation in _AS_IS:
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        reader = reader_for(annotation)
        return _UNKNOWN if reader is None else reader
    return _UNKNOWN


_new_tuple = tuple.__new__

# Each event's type as its header carries it: its class, the type as text, its reader.
_BY_TYPE_HEADER = {cls.cloudevent_type().encode(): (cls, cls.cloudevent_type(), reader_for(cls)) for cls in ALL_EVENTS}

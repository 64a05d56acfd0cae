"""The replay's reading (shared/contracts/replay.py) gives every event's fields as the model
does, for every event of the contract (a new one included, with no code of its own), and
refuses or falls back to validation where it cannot read a message as the model would."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from shared.contracts import ALL_EVENTS, ChildRegistered, ChildTransferred, Jurisdiction, decode, encode
from shared.contracts.asyncapi import build_asyncapi, example_payload
from shared.contracts.envelope import UnknownEventType
from shared.contracts.replay import Facts, decode_replayed, reader_for

PLACE = Jurisdiction(county_code="330102000000", township_code="330102001000")


def _as_read(value: Any) -> Any:
    """A model's value as the replay gives it: ids as text, nested models as their fields."""
    if isinstance(value, BaseModel):
        return {name: _as_read(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Facts):
        return {name: _as_read(getattr(value, name)) for name in value.model.model_fields}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple):
        return tuple(_as_read(item) for item in value)
    return value


def _message(event: Any, value: bytes | None = None) -> tuple[list[tuple[str, bytes]], bytes]:
    encoded = encode(event)
    return [(name, text.encode()) for name, text in encoded.headers.items()], value or encoded.value


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda cls: cls.__name__)
def test_every_event_reads_as_its_model_does(cls) -> None:
    schemas = build_asyncapi()["components"]["schemas"]
    event = cls.model_validate(example_payload(cls, schemas))
    headers, value = _message(event)
    validated, replayed = decode(headers, None, value), decode_replayed(headers, value)
    assert reader_for(cls) is not None, "every event of the contract has a reader"
    assert isinstance(replayed.data, Facts) and replayed.data.model is cls and type(replayed.data).name == cls.name
    assert _as_read(replayed.data) == _as_read(validated.data)
    assert (replayed.type, replayed.source, replayed.subject, replayed.time) == (
        validated.type, validated.source, validated.subject, validated.time)
    assert replayed.id == str(validated.id)


def test_defaults_are_filled_in_and_a_newer_producers_fields_ignored() -> None:
    event = ChildRegistered(child_id=uuid.uuid4(), record_version=2, jurisdiction=PLACE)
    payload = {"child_id": str(event.child_id), "record_version": 2, "grade": 4,
               "jurisdiction": {"county_code": PLACE.county_code, "township_code": PLACE.township_code}}
    headers, value = _message(event, json.dumps(payload).encode())
    facts = decode_replayed(headers, value).data
    assert _as_read(facts) == _as_read(event)
    assert not hasattr(facts, "grade") and facts.jurisdiction.village_code is None


def test_dates_and_times_are_parsed_and_nested_models_read() -> None:
    event = ChildTransferred(child_id=uuid.uuid4(), record_version=3, jurisdiction=PLACE,
                             from_jurisdiction=Jurisdiction(county_code="330102000000", township_code="330102002000",
                                                            village_code="330102002001"))
    facts = decode_replayed(*_message(event)).data
    assert facts.from_jurisdiction.village_code == "330102002001" and facts.from_jurisdiction.model is Jurisdiction
    headers, value = _message(event)
    assert isinstance(decode_replayed(headers, value).time, datetime)


def test_what_the_reader_cannot_read_is_validated_as_decode_does() -> None:
    from shared.contracts import DutyScheduled

    event = DutyScheduled(child_id=uuid.uuid4(), duty_id=uuid.uuid4(), caregiver_id=uuid.uuid4(), duty_kind="talk",
                          due_on=date(2025, 3, 28), period_start=date(2025, 3, 1), jurisdiction=PLACE)
    payload = json.loads(encode(event).value) | {"due_on": "2025-03-28T00:00:00"}  # pydantic reads it as a date
    headers, value = _message(event, json.dumps(payload).encode())
    data = decode_replayed(headers, value).data
    assert isinstance(data, DutyScheduled) and data == event


@pytest.mark.parametrize("value", [b"", b"{", b"[1]", json.dumps({"child_id": "x"}).encode(),
                                   json.dumps({"record_version": 1}).encode()])
def test_a_value_the_model_refuses_is_refused(value: bytes) -> None:
    headers, _ = _message(ChildRegistered(child_id=uuid.uuid4(), record_version=1, jurisdiction=PLACE))
    with pytest.raises(ValueError):
        decode_replayed(headers, value)


def test_broken_headers_are_refused_as_decode_refuses_them() -> None:
    headers, value = _message(ChildRegistered(child_id=uuid.uuid4(), record_version=1, jurisdiction=PLACE))
    with pytest.raises(ValueError, match="not a CloudEvent"):
        decode_replayed([(name, raw) for name, raw in headers if name != "ce_time"], value)
    with pytest.raises(ValueError, match="not a CloudEvent"):
        decode_replayed([(name, raw if name != "ce_specversion" else b"0.3") for name, raw in headers], value)
    with pytest.raises(UnknownEventType):
        decode_replayed([(name, raw if name != "ce_type" else b"cn.shouhu.Newer.v1") for name, raw in headers], value)

"""The event contract: snapshot current, changes backward compatible, no personal data."""

from __future__ import annotations

import copy
import json
import uuid

import pytest

from shared.contracts import ALL_EVENTS, ChildRegistered, Jurisdiction, decode, encode
from shared.contracts.compat import breaking_changes
from shared.contracts.generate import SNAPSHOT, build_snapshot, main as generate_main

PERSONAL_FIELD_WORDS = ("name", "national_id", "id_number", "phone", "mobile", "address", "note", "text",
                        "observation", "guardian", "parent", "incarcerat", "hiv", "drug", "violence", "street")
# Fields whose name has such a word but which cannot hold personal data, each with the reason
# (reviewed one by one: a new field is never added here to make the check pass).
NOT_PERSONAL = {
    # The county's title for an aid programme (资助项目, e.g. 2026年春季学期生活补助), set by
    # staff for a programme, never about a child: reports names programmes in the summary (#19).
    "SupportRecorded.programme_name",
}


def test_checked_in_snapshot_and_asyncapi_are_current() -> None:
    assert generate_main(["--check"]) == 0, "run: python -m shared.contracts.generate"


def test_models_are_backward_compatible_with_the_checked_in_snapshot() -> None:
    assert breaking_changes(json.loads(SNAPSHOT.read_text("utf-8")), build_snapshot()) == []


@pytest.fixture
def snapshot() -> dict:
    return build_snapshot()


def _child_registered(document: dict) -> dict:
    return document["events"]["cn.shouhu.ChildRegistered.v1"]


def test_removing_a_field_is_breaking(snapshot) -> None:
    changed = copy.deepcopy(snapshot)
    del _child_registered(changed)["properties"]["school_id"]
    assert any("school_id: removed" in p for p in breaking_changes(snapshot, changed))


def test_changing_a_type_is_breaking(snapshot) -> None:
    changed = copy.deepcopy(snapshot)
    _child_registered(changed)["properties"]["record_version"] = {"type": "string"}
    assert any("record_version" in p for p in breaking_changes(snapshot, changed))


def test_a_new_required_field_is_breaking_and_a_new_optional_one_is_not(snapshot) -> None:
    optional = copy.deepcopy(snapshot)
    _child_registered(optional)["properties"]["grade"] = {"type": "integer"}
    assert breaking_changes(snapshot, optional) == []
    required = copy.deepcopy(optional)
    _child_registered(required)["required"].append("grade")
    assert any("grade: became required" in p for p in breaking_changes(snapshot, required))


def test_narrowing_an_enum_and_dropping_an_event_are_breaking(snapshot) -> None:
    changed = copy.deepcopy(snapshot)
    status = _child_registered(changed)["properties"]["status"]
    status["enum"] = [value for value in status["enum"] if value != "closed"]
    assert any("closed" in p for p in breaking_changes(snapshot, changed))
    del changed["events"]["cn.shouhu.VisitLogged.v1"]
    assert any("VisitLogged.v1: removed" in p for p in breaking_changes(snapshot, changed))


@pytest.mark.parametrize("event_class", ALL_EVENTS, ids=lambda cls: cls.name)
def test_no_event_has_a_field_that_could_hold_personal_data(event_class) -> None:
    def field_names(schema: dict) -> list[str]:
        names = list(schema.get("properties", {}))
        for definition in schema.get("$defs", {}).values():
            names += list(definition.get("properties", {}))
        return names

    for field in field_names(event_class.model_json_schema()):
        if f"{event_class.name}.{field}" in NOT_PERSONAL:
            continue
        assert not any(word in field.lower() for word in PERSONAL_FIELD_WORDS), f"{event_class.name}.{field}"


def test_sensitive_categories_cannot_be_put_in_an_event() -> None:
    with pytest.raises(ValueError):
        ChildRegistered(child_id=uuid.uuid4(), record_version=1, categories=("hiv_affected",),
                        jurisdiction=Jurisdiction(county_code="330102000000", township_code="330102001000"))


def test_envelope_round_trip_is_a_cloudevent_keyed_by_child() -> None:
    event = ChildRegistered(child_id=uuid.uuid4(), record_version=3,
                            jurisdiction=Jurisdiction(county_code="330102000000", township_code="330102001000"))
    encoded = encode(event)
    assert encoded.key == str(event.child_id)
    assert {"ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject"} <= encoded.headers.keys()
    assert encoded.headers["ce_specversion"] == "1.0"
    decoded = decode([(k, v.encode()) for k, v in encoded.headers.items()], encoded.key.encode(), encoded.value)
    assert decoded.data == event and decoded.id == encoded.event_id


def test_consumers_tolerate_fields_added_by_a_newer_producer() -> None:
    event = ChildRegistered(child_id=uuid.uuid4(), record_version=1,
                            jurisdiction=Jurisdiction(county_code="330102000000", township_code="330102001000"))
    encoded = encode(event)
    newer = json.loads(encoded.value) | {"grade": 4}
    decoded = decode([(k, v.encode()) for k, v in encoded.headers.items()], None, json.dumps(newer).encode())
    assert decoded.data == event


@pytest.mark.parametrize("change", [
    {"ce_specversion": b"0.3"}, {"ce_id": None}, {"ce_time": None}, {"ce_type": None}, {"ce_id": b"not-a-uuid"},
    {"ce_time": b"yesterday"}, {"ce_source": b"\xff\xfe"},
])
def test_decode_refuses_what_is_not_a_cloudevent_of_ours(change: dict) -> None:
    encoded = encode(ChildRegistered(child_id=uuid.uuid4(), record_version=1,
                                     jurisdiction=Jurisdiction(county_code="330102000000",
                                                               township_code="330102001000")))
    headers = {name: value.encode() for name, value in encoded.headers.items()} | change
    with pytest.raises(ValueError, match="not a CloudEvent"):
        decode([(name, value) for name, value in headers.items() if value is not None], None, encoded.value)


def test_decode_refuses_a_value_its_event_does_not_validate() -> None:
    encoded = encode(ChildRegistered(child_id=uuid.uuid4(), record_version=1,
                                     jurisdiction=Jurisdiction(county_code="330102000000",
                                                               township_code="330102001000")))
    headers = [(name, value.encode()) for name, value in encoded.headers.items()]
    for value in (b"", b"{", json.dumps({"child_id": "x"}).encode()):
        with pytest.raises(ValueError):
            decode(headers, None, value)

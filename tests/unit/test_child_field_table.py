"""The child record's plain fields are listed once (services/registry/child_fields.py), and
everything that reads, writes, patches, exports or publishes them follows that table: a
field added to it appears in the INSERT and UPDATE statements, the bulk import's staging
types, the create/patch/answer bodies, the export and the events' facts. ARCHITECTURE.md
lists the files such an addition touches; this checks that list against the code."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, timezone
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import create_model

from services.registry import child_fields, domain, models, models_out, privacy, sheet_writers, store, store_imports
from services.registry.child_fields import ChildField
from shared.contracts import ChildUpdated, Jurisdiction

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "services" / "registry"
NEW = ChildField("favourite_colour", str, "喜爱的颜色", "Favourite colour", max_length=20, in_events=True)
WITH_NEW = (*child_fields.FIELDS, NEW)
# The modules whose lists of fields are derived from the table (they name none of the fields).
DERIVED = ("store.py", "store_imports.py", "models.py", "models_out.py", "privacy.py", "api.py", "sheet_writers.py",
           "sheet_updates.py")
# Fields whose names no other feature of those modules uses (grade, class name, priority,
# schooling and the left-behind type are also a transfer's, a search's or a statistic's words).
RECORDED = datetime(2024, 9, 1, tzinfo=timezone.utc)
OWN_WORDS = ("ethnicity", "household_type", "boarding", "study_level", "hobbies")


def listed_files() -> list[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text("utf-8")
    block = text.split("<!-- child-field-files:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\s*\d+\. `([^`]+)`", block, flags=re.M)


def test_architecture_lists_at_most_six_files_and_each_exists() -> None:
    files = listed_files()
    assert 4 <= len(files) <= 6, files
    for name in files:
        if "NNNN" in name:
            assert (ROOT / name).parent.is_dir(), name
        else:
            assert (ROOT / name).is_file(), name
    assert "services/registry/child_fields.py" in files
    assert "services/registry/domain.py" in files and "shared/contracts/events.py" in files


def test_the_listed_files_are_those_a_new_field_needs() -> None:
    """Every plain field is an attribute of NewChild (domain.py) and has a column in a
    migration; every field marked for events is one of ChildUpdated's (events.py)."""
    attributes = {field.name for field in dataclasses.fields(domain.NewChild)}
    migrations = "\n".join(path.read_text("utf-8") for path in (REGISTRY / "migrations").glob("*.sql"))
    for field in child_fields.FIELDS:
        assert field.name in attributes
        assert re.search(rf"\b{field.name}\b", migrations), field.name
    assert set(child_fields.event_names()) <= set(ChildUpdated.model_fields)


def test_the_code_uses_the_table() -> None:
    plain = set(child_fields.names())
    assert store.CHILD_COLUMNS == store.child_columns(child_fields.FIELDS)
    assert sheet_writers.EXPORT_COLUMNS == sheet_writers.export_columns(child_fields.FIELDS)
    assert plain <= set(models.ChildIn.model_fields)
    assert plain <= set(models.ChildPatch.model_fields)
    assert plain <= set(models_out.ChildOut.model_fields)
    assert {name: store_imports._STAGE_TYPES[name] for name in plain} == {
        field.name: field.sql_type for field in child_fields.FIELDS}


@pytest.mark.parametrize("module", DERIVED)
def test_no_hand_kept_list_of_the_fields_remains(module: str) -> None:
    source = (REGISTRY / module).read_text("utf-8")
    for word in OWN_WORDS:
        assert not re.search(rf"\b{word}\b", source), f"{module} still names {word}"


def test_a_field_added_to_the_table_reaches_the_statements_and_the_bodies() -> None:
    columns = store.child_columns(WITH_NEW)
    assert columns[-1] == "favourite_colour"
    insert = store.insert_sql(columns)
    assert "favourite_colour)" in insert and f"${len(columns)})" in insert
    assert re.search(r"favourite_colour = \$\d+", store.replace_sql(columns))
    assert ("favourite_colour", "喜爱的颜色 Favourite colour") in sheet_writers.export_columns(WITH_NEW)

    created = create_model("Created", __base__=models._In, **child_fields.input_fields(WITH_NEW))
    patched = create_model("Patched", __base__=models._In, **child_fields.patch_fields(WITH_NEW))
    answered = create_model("Answered", **child_fields.output_fields(WITH_NEW))
    assert created.model_fields["favourite_colour"].default is None
    assert patched(favourite_colour="red").model_fields_set == {"favourite_colour"}
    assert answered.model_fields["favourite_colour"].is_required()
    assert child_fields.event_names(WITH_NEW)[-1] == "favourite_colour"


def _child(**extra: object) -> domain.NewChild:
    return domain.NewChild(
        id=uuid4(), name="测试", gender="female", birth_date=date(2015, 3, 1),
        jurisdiction=Jurisdiction(county_code="520424000000", township_code="520424100000"),
        school_id=None, categories=(), priority=True, hobbies="围棋", boarding=False, **extra)  # type: ignore[arg-type]


def test_a_field_added_to_the_table_reaches_the_events_and_the_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the table and NewChild extended, the events' facts and the masked view carry the
    new field, and the stored row is read into it: no other place needs to know."""
    extended = dataclasses.make_dataclass("Extended", [("favourite_colour", "str | None", None)],
                                          bases=(domain.NewChild,), frozen=True)
    monkeypatch.setattr(child_fields, "FIELDS", WITH_NEW)
    child = extended(**dataclasses.asdict(_child()) | {"favourite_colour": "red"})
    facts = domain._facts(child, date(2024, 9, 1), status="active", version=2)
    assert facts["favourite_colour"] == "red" and facts["priority"] is True

    monkeypatch.setattr(privacy, "NewChild", extended)
    row = {**{name: getattr(child, name) for name in child_fields.names()},
           "id": child.id, "name": child.name, "gender": child.gender, "birth_date": child.birth_date,
           "county_code": "520424000000", "township_code": "520424100000", "village_code": None,
           "school_id": None, "categories": [], "national_id_enc": None, "address_enc": None,
           "sensitive_enc": None, "priority_reason_enc": None, "contact_card_enc": None, "particulars_enc": None,
           "lawful_basis": {}, "status": "active", "close_reason": None, "version": 2,
           "created_at": RECORDED, "updated_at": RECORDED}
    body = privacy.view(row, cipher=None, unmask=False).body  # type: ignore[arg-type]  # nothing to decrypt
    assert body["favourite_colour"] == "red" and body["hobbies"] == "围棋" and body["boarding"] is False

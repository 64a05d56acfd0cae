"""Log scrubbing and the skeleton's pure domain rules."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from services.registry import domain as registry
from services.visits import domain as visits
from shared.contracts import Jurisdiction
from shared.logging import scrub_personal_data

J = Jurisdiction(county_code="330102000000", township_code="330102001000", village_code="330102001001")


def test_log_scrubbing_drops_personal_keys_and_masks_id_numbers_and_mobiles() -> None:
    event = scrub_personal_data(None, "info", {
        "event": "failed for 11010519491231002X and 13812345678", "name": "王小明", "child_id": "abc", "rows": 3})
    assert event == {"event": "failed for [id] and [phone]", "name": "[redacted]", "child_id": "abc", "rows": 3}


@pytest.mark.parametrize(("born", "band"), [
    (date(2021, 1, 1), "0-5"), (date(2016, 3, 9), "6-11"), (date(2013, 11, 30), "12-13"),
    (date(2012, 11, 29), "14-15"), (date(2008, 11, 30), "16-17"), (date(2008, 11, 29), "18+"),
])
def test_age_band_on_2026_11_29(born, band) -> None:
    assert registry.age_band(born, date(2026, 11, 29)) == band


@pytest.mark.parametrize(("field", "jurisdiction"), [
    ("jurisdiction.county_code", Jurisdiction(county_code="330102001000", township_code="330102001000")),
    ("jurisdiction.township_code", Jurisdiction(county_code="330102000000", township_code="330103001000")),
    ("jurisdiction.village_code", Jurisdiction(county_code="330102000000", township_code="330102001000",
                                               village_code="330102002001")),
])
def test_inconsistent_division_codes_are_refused_naming_the_field(field, jurisdiction) -> None:
    with pytest.raises(registry.RuleViolation) as refused:
        registry.check_jurisdiction(jurisdiction)
    assert refused.value.field == field


def test_register_produces_an_event_without_personal_data() -> None:
    child = registry.NewChild(id=uuid.uuid4(), name="王小明", gender="male", birth_date=date(2016, 3, 9),
                              jurisdiction=J, school_id="s1", categories=("left_behind",), priority=False)
    event = registry.register(child, today=date(2026, 11, 29))
    assert event.age_band == "6-11" and event.record_version == 1
    assert "王小明" not in event.model_dump_json()


def test_a_contact_in_the_future_or_for_a_closed_child_is_refused() -> None:
    now = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)
    contact = visits.NewContact(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "talk", now + timedelta(hours=1))
    with pytest.raises(visits.RuleViolation, match="future"):
        visits.log_contact(contact, child_status="active", jurisdiction=J, now=now)
    on_time = visits.NewContact(contact.id, contact.child_id, contact.caregiver_id, "talk", now)
    with pytest.raises(visits.RuleViolation) as closed:
        visits.log_contact(on_time, child_status="closed", jurisdiction=J, now=now)
    assert closed.value.status_code == 409
    assert visits.log_contact(on_time, child_status="active", jurisdiction=J, now=now).kind == "talk"

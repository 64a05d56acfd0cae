"""The clock: settings and environment move it; the county's today is not the UTC date."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from services.visits.config import VisitsSettings
from shared.clock import Clock, from_env, parse_offset


def test_offsets_read_as_durations() -> None:
    assert parse_offset("400d") == timedelta(days=400)
    assert parse_offset("-3h") == timedelta(hours=-3)
    assert parse_offset("90m") == timedelta(minutes=90)
    assert parse_offset("12.5") == timedelta(seconds=12.5)
    assert parse_offset("") == timedelta(0)
    with pytest.raises(ValueError):
        parse_offset("next year")


def test_the_countys_today_turns_at_its_own_midnight() -> None:
    utc_evening = datetime(2026, 12, 31, 16, 30, tzinfo=timezone.utc)  # 00:30 on 1 January in Shanghai
    clock = Clock(fixed=utc_evening)
    assert clock.now() == utc_evening and clock.now().tzinfo == timezone.utc
    assert clock.today() == date(2027, 1, 1)
    assert Clock(county_timezone="Asia/Urumqi", fixed=utc_evening).today() == date(2026, 12, 31)  # UTC+6
    assert clock.start_of(date(2028, 2, 29)) == datetime(2028, 2, 28, 16, 0, tzinfo=timezone.utc)


def test_settings_and_environment_move_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOUHU_CLOCK_OFFSET", "400d")
    ahead = VisitsSettings().clock.now() - datetime.now(timezone.utc)
    assert timedelta(days=399, hours=23) < ahead < timedelta(days=400, minutes=1)
    assert from_env().today() >= date.today() + timedelta(days=399)
    monkeypatch.setenv("SHOUHU_CLOCK_NOW", "2028-02-29T00:10")  # zone-less: the county's
    settings = VisitsSettings()
    assert settings.clock.today() == date(2028, 2, 29)
    assert settings.clock.now() == datetime(2028, 2, 28, 16, 10, tzinfo=timezone.utc)
    settings.clock_now = datetime(2027, 9, 1, 1, 0, tzinfo=timezone.utc)  # a test moves it
    assert settings.clock.today() == date(2027, 9, 1)
    monkeypatch.setenv("SHOUHU_COUNTY_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError):
        VisitsSettings()

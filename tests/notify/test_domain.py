"""Pure rules: routing, channel choice, quiet hours, backoff, address validation."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timezone

import pytest

from services.notify.domain import (
    DEFAULT_RULES, Preferences, Recipient, Rule, choose_channels, notification_id, plan, routing_for,
)
from services.notify.domain_delivery import (
    AddressError, allowance, backoff_seconds, check_webhook_url, normalise_mobile, parse_quiet_hours, quiet_until,
)
from shared.contracts import ConcernRaised, ContactOverdue, DutyDueSoon, Jurisdiction

J = Jurisdiction(county_code="330102000000", township_code="330102001000", village_code="330102001001")
SHANGHAI_22H = datetime(2026, 11, 29, 14, 0, tzinfo=timezone.utc)  # 22:00 in Asia/Shanghai


def test_overdue_escalation_level_picks_the_audience() -> None:
    base = dict(child_id=uuid.uuid4(), duty_id=uuid.uuid4(), caregiver_id=uuid.uuid4(), duty_kind="talk",
                due_on=date(2026, 11, 1), days_overdue=5, jurisdiction=J)
    assert routing_for(ContactOverdue(**base)).audiences == ("caregiver",)
    assert routing_for(ContactOverdue(**base, escalation_level="township")).audiences == ("township_staff",)


def test_urgent_and_mandatory_concerns() -> None:
    base = dict(child_id=uuid.uuid4(), concern_id=uuid.uuid4(), contact_id=uuid.uuid4(), raised_at=SHANGHAI_22H,
                jurisdiction=J)
    mandatory = routing_for(ConcernRaised(**base, severity="medium", mandatory_report=True))
    assert mandatory.urgent and mandatory.mandatory and mandatory.audiences == ("on_duty",)
    assert not routing_for(ConcernRaised(**base, severity="medium", mandatory_report=False)).urgent


def test_channel_choice_respects_preferences_unless_urgent() -> None:
    rule = ("in_app", "sms", "wecom", "email")
    everyone = ("in_app", "sms", "wecom", "email")
    plain = Recipient("staff", "s1", everyone)
    assert choose_channels(rule, plain, urgent=False) == ["in_app", "sms"]
    prefers_email = Recipient("staff", "s1", everyone, Preferences(channels=("email",)))
    assert choose_channels(rule, prefers_email, urgent=False) == ["in_app", "email"]
    opted_out = Recipient("staff", "s1", everyone, Preferences(opt_out_non_urgent=True))
    assert choose_channels(rule, opted_out, urgent=False) == ["in_app"]
    assert choose_channels(rule, opted_out, urgent=True) == ["in_app", "sms", "wecom", "email"]


def test_planning_is_deterministic_and_quiet_hours_skip_urgent() -> None:
    event_id = uuid.uuid4()
    routing = routing_for(DutyDueSoon(child_id=uuid.uuid4(), duty_id=uuid.uuid4(), caregiver_id=uuid.uuid4(),
                                      duty_kind="home_visit", due_on=date(2026, 12, 1), jurisdiction=J))
    rule = next(r for r in DEFAULT_RULES if r.event_type == "DutyDueSoon")
    recipient = Recipient("caregiver", routing.caregiver_id, ("in_app", "sms"))
    quiet = {"caregiver": (time(22), time(7))}
    first = plan(event_id, routing, rule, [recipient], quiet)
    assert first == plan(event_id, routing, rule, [recipient], quiet)
    by_channel = {p.channel: p for p in first}
    assert by_channel["sms"].quiet_start == time(22) and by_channel["in_app"].quiet_start is None
    assert by_channel["sms"].id == notification_id(event_id, "caregiver", routing.caregiver_id, "sms")
    urgent = plan(event_id, routing.__class__(**{**routing.__dict__, "urgent": True}),
                  Rule("x", "caregiver", "duty_due_soon", ("sms",)), [recipient], quiet)
    assert urgent[0].quiet_start is None


def test_quiet_hours_across_midnight() -> None:
    start, end = parse_quiet_hours("21:00-07:30")
    until = quiet_until(SHANGHAI_22H, start, end, "Asia/Shanghai")
    assert until is not None and until.isoformat() == "2026-11-30T07:30:00+08:00"
    early = datetime(2026, 11, 29, 22, 0, tzinfo=timezone.utc)  # 06:00 next day in Shanghai
    assert quiet_until(early, start, end, "Asia/Shanghai").isoformat() == "2026-11-30T07:30:00+08:00"
    noon = datetime(2026, 11, 29, 4, 0, tzinfo=timezone.utc)
    assert quiet_until(noon, start, end, "Asia/Shanghai") is None
    assert quiet_until(SHANGHAI_22H, None, None, None) is None


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    values = [backoff_seconds(n, base_s=10, max_s=100, rng=rng) for n in (1, 2, 3, 4, 5, 6)]
    assert 5 <= values[0] <= 10 and 10 <= values[1] <= 20 and 20 <= values[2] <= 40
    assert all(v <= 100 for v in values) and values[5] >= 50


def test_rate_allowance() -> None:
    assert allowance(20, 18) == 2 and allowance(20, 25) == 0


def test_mobile_numbers_only_for_sms() -> None:
    assert normalise_mobile("138 0013 8000") == "+8613800138000"
    for bad in ("010-12345678", "12345", "not a phone"):
        with pytest.raises(AddressError):
            normalise_mobile(bad)


def test_webhook_urls_need_https_except_loopback_in_development() -> None:
    assert check_webhook_url("https://gov.example.cn/hook", allow_loopback_http=False)
    assert check_webhook_url("http://127.0.0.1:9000/hook", allow_loopback_http=True)
    for bad, loopback_ok in (("http://gov.example.cn/hook", True), ("http://127.0.0.1/hook", False),
                             ("ftp://x/y", True), ("https://user:pw@x/y", True), ("/relative", True)):
        with pytest.raises(AddressError):
            check_webhook_url(bad, allow_loopback_http=loopback_ok)

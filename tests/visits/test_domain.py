"""Pure rules: periods, policy resolution, schedules per policy, the ladder, contacts, concerns."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from services.visits import domain
from services.visits.domain_duties import (
    PolicyRule, Window, desired_windows, level_name, overdue_level, parse_terms, resolve_periods,
)
from shared.contracts import ConcernRaised, Jurisdiction, VisitLogged

TERMS = parse_terms("03-01:07-31,09-01:01-31")
COUNTY, TOWNSHIP, OTHER = "330102000000", "330102001000", "330102002000"
DEFAULTS = [PolicyRule("", "all", "home_visit", "monthly"), PolicyRule("", "all", "parent_call", "monthly"),
            PolicyRule("", "all", "letter", "term"), PolicyRule("", "all", "talk", "monthly"),
            PolicyRule("", "priority", "talk", "weekly")]
HERE = Jurisdiction(county_code=COUNTY, township_code=TOWNSHIP)
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def windows(period, started_on, as_of, from_day=None, ended_on=None):  # type: ignore[no-untyped-def]
    return desired_windows(period, started_on=started_on, ended_on=ended_on, from_day=from_day or started_on,
                           as_of=as_of, terms=TERMS)


def test_default_policy_is_the_three_duties_and_monthly_talks() -> None:
    assert resolve_periods(DEFAULTS, county_code=COUNTY, township_code=TOWNSHIP, priority=False) == {
        "home_visit": "monthly", "parent_call": "monthly", "letter": "term", "talk": "monthly"}
    assert resolve_periods(DEFAULTS, county_code=COUNTY, township_code=TOWNSHIP, priority=True)["talk"] == "weekly"


def test_township_overrides_county_overrides_default_and_off_removes_a_duty() -> None:
    rules = DEFAULTS + [PolicyRule(COUNTY, "all", "parent_call", "weekly"),
                        PolicyRule(TOWNSHIP, "all", "parent_call", "monthly"),
                        PolicyRule(COUNTY, "all", "letter", "off")]
    here = resolve_periods(rules, county_code=COUNTY, township_code=TOWNSHIP, priority=False)
    there = resolve_periods(rules, county_code=COUNTY, township_code=OTHER, priority=False)
    assert here["parent_call"] == "monthly" and there["parent_call"] == "weekly"
    assert "letter" not in here and "letter" not in there
    elsewhere = resolve_periods(rules, county_code="330103000000", township_code="330103001000", priority=False)
    assert elsewhere["parent_call"] == "monthly" and elsewhere["letter"] == "term"


def test_a_priority_rule_beats_a_more_specific_general_rule() -> None:
    rules = DEFAULTS + [PolicyRule(TOWNSHIP, "all", "talk", "monthly")]
    assert resolve_periods(rules, county_code=COUNTY, township_code=TOWNSHIP, priority=True)["talk"] == "weekly"


def test_monthly_schedule_covers_this_month_and_the_next() -> None:
    assert windows("monthly", date(2026, 11, 3), date(2026, 11, 3)) == [
        Window(date(2026, 11, 1), date(2026, 11, 30)), Window(date(2026, 12, 1), date(2026, 12, 31))]


def test_a_pairing_late_in_a_period_owes_nothing_for_it() -> None:
    assert windows("monthly", date(2026, 11, 29), date(2026, 11, 29)) == [
        Window(date(2026, 12, 1), date(2026, 12, 31))]
    # A week: started on Thursday, four of seven days remain, so this week counts.
    assert windows("weekly", date(2026, 11, 26), date(2026, 11, 26))[0] == Window(date(2026, 11, 23),
                                                                                    date(2026, 11, 29))


def test_weekly_schedule_runs_monday_to_sunday() -> None:
    result = windows("weekly", date(2026, 11, 30), date(2026, 12, 2))
    assert result == [Window(date(2026, 11, 30), date(2026, 12, 6)), Window(date(2026, 12, 7), date(2026, 12, 13))]


def test_terms_are_configurable_and_a_letter_is_due_at_term_end() -> None:
    assert windows("term", date(2026, 10, 1), date(2026, 10, 1)) == [
        Window(date(2026, 9, 1), date(2027, 1, 31)), Window(date(2027, 3, 1), date(2027, 7, 31))]
    # Between terms (August) the next term is the first owed.
    assert windows("term", date(2026, 8, 10), date(2026, 8, 10))[0] == Window(date(2026, 9, 1), date(2027, 1, 31))
    quarters = parse_terms("02-15:06-30,09-01:12-20")
    assert desired_windows("term", started_on=date(2027, 1, 5), ended_on=None, from_day=date(2027, 1, 5),
                           as_of=date(2027, 1, 5), terms=quarters) == [Window(date(2027, 2, 15), date(2027, 6, 30))]


def test_history_before_from_day_is_not_derived_again_and_an_end_stops_the_schedule() -> None:
    result = windows("monthly", date(2026, 9, 1), date(2026, 11, 10), from_day=date(2026, 11, 10))
    assert [w.start.month for w in result] == [11, 12]
    ended = windows("monthly", date(2026, 9, 1), date(2026, 11, 10), from_day=date(2026, 9, 1),
                    ended_on=date(2026, 11, 15))
    assert [w.start.month for w in ended] == [9, 10]


def test_off_means_no_duties() -> None:
    assert windows("off", date(2026, 11, 1), date(2026, 11, 1)) == []


@pytest.mark.parametrize(("days", "level"), [(-3, 0), (0, 0), (1, 1), (6, 1), (7, 2), (13, 2), (14, 3), (90, 3)])
def test_the_overdue_ladder(days: int, level: int) -> None:
    assert overdue_level(days, school_after=7, county_after=14) == level


def test_second_rung_is_the_school_when_there_is_one() -> None:
    assert level_name(2, "school-1") == "school" and level_name(2, None) == "township"
    assert level_name(1, None) == "caregiver" and level_name(3, "s") == "county"


def _contact(**overrides) -> domain.NewContact:  # type: ignore[no-untyped-def]
    values = dict(id=uuid.uuid4(), child_id=uuid.uuid4(), caregiver_id=uuid.uuid4(), kind="home_visit",
                  occurred_at=NOW - timedelta(hours=5))
    values.update(overrides)
    return domain.NewContact(**values)


def test_a_contact_logs_a_visit_without_observations() -> None:
    event = domain.log_contact(_contact(), child_status="active", jurisdiction=HERE, now=NOW)
    assert isinstance(event, VisitLogged) and event.concern_raised is False
    assert set(event.model_dump()) == {"child_id", "contact_id", "caregiver_id", "kind", "occurred_at",
                                       "jurisdiction", "concern_raised"}


def test_future_contacts_beyond_the_clock_skew_are_refused() -> None:
    domain.log_contact(_contact(occurred_at=NOW + timedelta(minutes=4)), child_status="active",
                       jurisdiction=HERE, now=NOW)
    with pytest.raises(domain.RuleViolation) as refused:
        domain.log_contact(_contact(occurred_at=NOW + timedelta(minutes=6)), child_status="active",
                           jurisdiction=HERE, now=NOW)
    assert refused.value.field == "occurred_at" and refused.value.status_code == 422


def test_closed_children_and_call_details_on_visits_are_refused() -> None:
    with pytest.raises(domain.RuleViolation) as closed:
        domain.log_contact(_contact(), child_status="closed", jurisdiction=HERE, now=NOW)
    assert closed.value.status_code == 409
    with pytest.raises(domain.RuleViolation) as call:
        domain.log_contact(_contact(call_minutes=5), child_status="active", jurisdiction=HERE, now=NOW)
    assert call.value.field == "call"
    domain.log_contact(_contact(kind="parent_video", call_minutes=5), child_status="active", jurisdiction=HERE,
                       now=NOW)


def test_suspected_abuse_neglect_and_violence_start_the_mandatory_report_path() -> None:
    concerns = tuple(domain.NewConcern(id=uuid.uuid4(), category=category, severity="high")
                     for category in domain.CONCERN_CATEGORIES)
    contact = _contact(concerns=concerns)
    visit = domain.log_contact(contact, child_status="active", jurisdiction=HERE, now=NOW)
    raised = domain.concerns_raised(contact, jurisdiction=HERE, now=NOW)
    assert visit.concern_raised is True
    assert all(isinstance(event, ConcernRaised) for event in raised)
    mandatory = {c.category for c, e in zip(concerns, raised) if e.mandatory_report}
    assert mandatory == {"suspected_abuse", "neglect", "violence"}
    assert all("category" not in event.model_dump() for event in raised)


def test_acknowledging_a_mandatory_report_requires_a_referral() -> None:
    args = dict(child_id=uuid.uuid4(), concern_id=uuid.uuid4(), jurisdiction=HERE, now=NOW)
    with pytest.raises(domain.RuleViolation):
        domain.acknowledge(status="open", referred_to=(), mandatory_report=True, **args)
    assert domain.acknowledge(status="open", referred_to=("police",), mandatory_report=True, **args).referred
    with pytest.raises(domain.RuleViolation) as again:
        domain.acknowledge(status="acknowledged", referred_to=(), mandatory_report=False, **args)
    assert again.value.status_code == 409


def test_concern_escalation_waits_by_severity_and_mandatory_reports_wait_least() -> None:
    hours = {"urgent": 2, "high": 12, "medium": 48, "low": 168}
    raised = NOW - timedelta(hours=3)
    due = lambda severity, mandatory: domain.concern_escalation_due(  # noqa: E731
        raised_at=raised, severity=severity, mandatory_report=mandatory, as_of=NOW, hours_by_severity=hours,
        mandatory_hours=2)
    assert due("urgent", False) and not due("high", False) and due("low", True)


def test_the_default_terms_are_the_school_terms_every_screen_and_report_uses() -> None:
    from services.visits.config import VisitsSettings
    from services.visits.domain_duties import windows_from
    from shared.terms import term_of

    terms = parse_terms(VisitsSettings().terms)
    windows = list(itertools.islice(windows_from("term", date(2026, 9, 1), terms), 3))
    assert [(w.start, w.end) for w in windows] == [
        (date(2026, 9, 1), date(2027, 1, 31)), (date(2027, 2, 1), date(2027, 7, 31)),
        (date(2027, 9, 1), date(2028, 1, 31))]
    for window in windows:   # each window is one term of shared/terms.py, first day to last
        assert (term_of(window.start).first_day, term_of(window.start).last_day) == (window.start, window.end)

"""The reports' pure rules: periods and the period before, the period checks, figures from
counts, the assessment's score and ranking."""

from __future__ import annotations

from datetime import date

import pytest

from services.reports.domain import Period, ReportRefused, check_period, figures_from_counts
from services.reports.domain_assessment import Weights, rank, score

TODAY = date(2025, 6, 15)


@pytest.mark.parametrize(("start", "end", "previous"), [
    (date(2024, 3, 1), date(2024, 3, 31), (date(2024, 2, 1), date(2024, 2, 29))),      # a month: the month before
    (date(2024, 9, 1), date(2025, 1, 31), (date(2024, 4, 1), date(2024, 8, 31))),      # a term of five months
    (date(2024, 1, 1), date(2024, 12, 31), (date(2023, 1, 1), date(2023, 12, 31))),    # a year
    (date(2024, 3, 10), date(2024, 3, 16), (date(2024, 3, 3), date(2024, 3, 9))),      # any days: as many before
])
def test_the_previous_period(start: date, end: date, previous: tuple[date, date]) -> None:
    before = Period(start, end).previous()
    assert (before.start, before.end) == previous


@pytest.mark.parametrize(("start", "end", "as_of", "field"), [
    (date(2025, 6, 10), date(2025, 6, 1), None, "query.to"),
    (date(2025, 6, 16), date(2025, 6, 30), None, "query.from"),
    (date(2025, 6, 1), date(2025, 6, 30), date(2025, 6, 16), "query.as_of"),
    (date(2025, 6, 1), date(2025, 6, 30), date(2025, 5, 31), "query.as_of"),
    (date(2023, 1, 1), date(2023, 12, 31), None, "query.to"),  # before the first recorded day
])
def test_periods_without_figures_are_refused(start: date, end: date, as_of: date | None, field: str) -> None:
    with pytest.raises(ReportRefused) as refused:
        check_period(start, end, as_of, today=TODAY, first_day=date(2024, 2, 1))
    assert refused.value.field == field


def test_as_of_defaults_to_the_last_day_or_today_while_the_period_runs() -> None:
    assert check_period(date(2025, 5, 1), date(2025, 5, 31), None, today=TODAY, first_day=date(2024, 2, 1))[1] == \
        date(2025, 5, 31)
    assert check_period(date(2025, 6, 1), date(2025, 6, 30), None, today=TODAY, first_day=date(2024, 2, 1))[1] == TODAY


def test_rates_follow_from_counts_and_nothing_measured_is_none() -> None:
    figures = figures_from_counts({"children_registered": 8, "children_paired": 6, "expected": 10,
                                   "parent_call": 2, "parent_video": 1, "activity": 4,
                                   "duties_due": 3, "duties_on_time": 2})
    assert (figures["registration_rate"], figures["coverage"], figures["on_time_rate"]) == (0.8, 0.75, 0.6667)
    assert (figures["parent_calls"], figures["other_contacts"], figures["contacts_total"]) == (3, 4, 7)
    empty = figures_from_counts({})
    assert empty["registration_rate"] is None and empty["coverage"] is None and empty["expected"] is None


def test_the_score_weighs_only_what_can_be_measured() -> None:
    weights = Weights(on_time=50, late=10, overdue=20, coverage=20)
    assert score(due=4, on_time=4, late=0, overdue=0, coverage=1.0, weights=weights) == 90.0  # late share is 0
    assert score(due=0, on_time=0, late=0, overdue=0, coverage=0.5, weights=weights) == 50.0
    assert score(due=2, on_time=1, late=0, overdue=1, coverage=None, weights=weights) == 43.8  # 35 of 80
    assert score(due=0, on_time=0, late=0, overdue=0, coverage=None, weights=weights) is None


def test_ranking_puts_the_best_first_and_the_unscored_last() -> None:
    ranked = rank([{"key": "a", "due": 2, "on_time": 2, "late": 0, "overdue": 0},
                   {"key": "b", "due": 2, "on_time": 0, "late": 0, "overdue": 2},
                   {"key": "c", "due": 0, "on_time": 0, "late": 0, "overdue": 0}], {}, Weights())
    assert [(item["key"], item["rank"]) for item in ranked] == [("a", 1), ("b", 2), ("c", None)]

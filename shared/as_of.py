"""Figures "as of a date" and "for a period", the same rule in every service.

As of a day means: what had been recorded by the end of that day on the county's calendar
(midnight that starts the next day, in `county_timezone`) and was in effect then. A day in
the future, or before the first thing the service recorded, has no figures: it is refused
(422 naming the field), never answered with today's."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shared.clock import Clock
from shared.rules import RuleViolation


def end_of(day: date, clock: Clock) -> datetime:
    """The instant a county day ends (the next day's midnight): facts before it count."""
    return clock.start_of(day + timedelta(days=1))


def first_day(first_recorded: datetime | None, clock: Clock) -> date | None:
    """The county day of the first recorded fact (None: nothing recorded yet)."""
    return None if first_recorded is None else clock.local_day(first_recorded)


def check_day(day: date, *, field: str, today: date, first: date | None) -> date:
    """`day` if figures exist for it; else RuleViolation(field, why)."""
    if day > today:
        raise RuleViolation(field, f"日期在未来 / is in the future (today is {today.isoformat()})")
    if first is None:
        raise RuleViolation(field, "尚无任何记录 / nothing has been recorded yet")
    if day < first:
        raise RuleViolation(field, f"早于记录开始之日 / is before the records began ({first.isoformat()})")
    return day


def check_period(start: date, end: date, *, today: date, first: date | None,
                 from_field: str = "query.from", to_field: str = "query.to") -> tuple[date, date]:
    """A period of whole county days, both included: `to` not before `from`, neither in
    the future; a start before the records began is refused like any other day."""
    if end < start:
        raise RuleViolation(to_field, "早于起始日期 / is before from")
    check_day(start, field=from_field, today=today, first=first)
    check_day(end, field=to_field, today=today, first=first)
    return start, end

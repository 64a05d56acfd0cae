"""The county's retention rule for children's records, without I/O.

A record's purpose is fulfilled when it was closed (parents returned, moved away, aged out)
or when the child turned 18 (the registry is for minors, whatever the record's status says).
The county keeps a record N years after either (`years_after_closing`,
`years_after_adulthood`; unset: for ever), then erases it:

- anonymise: the record stays with its personal fields cleared, read-only;
- purge: the record is deleted.

Either way a tombstone of non-personal facts stays for statistics, and every other service
clears what it holds about the child when it reads ChildErased. Periods are counted in the
county's calendar (shared/clock.py), never on the database's date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal, Mapping
from zoneinfo import ZoneInfo

from services.registry import child_fields
from services.registry.domain import PUBLIC_CATEGORIES, age_band
from shared.contracts import ChildClosed, Jurisdiction

Action = Literal["purge", "anonymise"]
ADULT_AGE = 18


@dataclass(frozen=True)
class Policy:
    years_after_closing: int | None = None
    years_after_adulthood: int | None = None
    action: Action = "anonymise"

    @property
    def keeps_everything(self) -> bool:
        return self.years_after_closing is None and self.years_after_adulthood is None


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier (29 February → 28 February in a common year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class Cutoffs:
    """A closed record whose status changed before `closed_before` is due; so is any record
    of a child born on or before `born_on_or_before`. None: that rule is off."""

    closed_before: datetime | None
    born_on_or_before: date | None


def cutoffs(policy: Policy, today: date, zone: ZoneInfo) -> Cutoffs:
    closed_before = None
    if policy.years_after_closing is not None:
        # closed on day D is due on D + N years: closed before the start of (today - N years)
        closed_before = datetime.combine(years_before(today, policy.years_after_closing), time(0), zone)
    born = None
    if policy.years_after_adulthood is not None:
        born = years_before(today, ADULT_AGE + policy.years_after_adulthood)
    return Cutoffs(closed_before, born)


def basis(status: str, status_changed_at: datetime, birth_date: date, due: Cutoffs) -> Literal["closed", "adulthood"]:
    """Why a due record is due (closing first: it is the county's own decision on the record)."""
    if due.closed_before is not None and status == "closed" and status_changed_at < due.closed_before:
        return "closed"
    return "adulthood"


# The children columns an anonymised record keeps in clear: what statistics count by.
# Everything else personal is cleared: name (and its search text), the sealed fields (ID and
# its blind index, address, sensitive categories, priority reason, contact card with the
# guardians and parents, particulars), village, class, ethnicity, hobbies; the birth date is
# cut to 1 January of its year.
CLEARED_PLAIN = ("village_code", "class_name", "ethnicity", "hobbies")
ANONYMISED_NAME = "（已匿名）"


def closed_on_ageing_out(row: Mapping[str, Any], today: date) -> ChildClosed:
    """A record due by age that nobody closed is closed first (reason aged_out), with its
    event, so that pairings end and duties stop before ChildErased clears the rest. `row`
    is the record as written with the new status and version."""
    return ChildClosed(
        child_id=row["id"], school_id=row["school_id"], status="closed", record_version=row["version"],
        jurisdiction=Jurisdiction(county_code=row["county_code"], township_code=row["township_code"],
                                  village_code=row["village_code"]),
        categories=tuple(c for c in row["categories"] if c in PUBLIC_CATEGORIES),
        age_band=age_band(row["birth_date"], today), reason="aged_out",
        **{name: row[name] for name in child_fields.event_names()})

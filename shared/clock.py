"""The one clock every service reads: "now" (aware UTC) and "the county's today".

Built from settings (`ServiceSettings.clock`), never at import time, so a test or a rehearsal
can move it for a whole process tree through the environment:

- `SHOUHU_CLOCK_OFFSET`: the clock runs, shifted by this much (`400d`, `-3h`, `90m`,
  `3600` seconds). A stack started with `400d` lives a year and a bit ahead.
- `SHOUHU_CLOCK_NOW`: the clock stands still at this instant (ISO 8601; without a zone it is
  read in the county's zone). For tests: a frozen clock never lets a retry fall due by itself.
- `SHOUHU_COUNTY_TIMEZONE` (default Asia/Shanghai): the zone of the county's calendar.

Every comparison between a stored time and now passes `clock.now()` into SQL rather than
using the database's `now()`, so the database and the code never disagree about the date.
Security timestamps (token expiry, heartbeat files) keep the real time on purpose.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_COUNTY_TIMEZONE = "Asia/Shanghai"

_OFFSET = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_offset(value: str | float | int | timedelta | None) -> timedelta:
    """`400d`, `-3h`, `90m`, `12s` or a number of seconds; a ValueError names the bad value."""
    if value is None or value == "":
        return timedelta(0)
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    match = _OFFSET.match(value)
    if match is None:
        raise ValueError("clock offset must be a number with an optional unit s, m, h or d (e.g. 400d)")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


@lru_cache(maxsize=32)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class Clock:
    county_timezone: str = DEFAULT_COUNTY_TIMEZONE
    offset: timedelta = timedelta(0)
    fixed: datetime | None = None

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.county_timezone)

    def now(self) -> datetime:
        """Aware UTC."""
        if self.fixed is not None:
            return self.fixed.astimezone(timezone.utc)
        return datetime.now(timezone.utc) + self.offset

    def local_now(self) -> datetime:
        """Now on the county's wall clock."""
        return self.now().astimezone(self.zone)

    def today(self) -> date:
        """The county's calendar day (not the UTC one: for eight hours a day they differ)."""
        return self.local_now().date()

    def local_day(self, moment: datetime) -> date:
        """The county's calendar day of an instant."""
        return moment.astimezone(self.zone).date()

    def start_of(self, day: date) -> datetime:
        """Midnight at the start of a county day, as an aware instant."""
        return datetime.combine(day, time.min, self.zone)


def fixed_instant(value: str | datetime | None, county_timezone: str) -> datetime | None:
    """SHOUHU_CLOCK_NOW: an aware instant (a naive one is read in the county's zone)."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(county_timezone))
    return moment.astimezone(timezone.utc)


def from_env(environ: "os._Environ[str] | dict[str, str] | None" = None) -> Clock:
    """The clock the environment describes, for code that has no settings at hand (event
    stamps, command-line tools). Read on each call, never at import."""
    env = os.environ if environ is None else environ
    county = env.get("SHOUHU_COUNTY_TIMEZONE") or DEFAULT_COUNTY_TIMEZONE
    return Clock(county_timezone=county, offset=parse_offset(env.get("SHOUHU_CLOCK_OFFSET")),
                 fixed=fixed_instant(env.get("SHOUHU_CLOCK_NOW"), county))

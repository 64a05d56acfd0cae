"""The school year's terms (学期), one rule for every service, as the screens write them
(shared/brief/ui.md): 秋季学期 1 September – 31 January, 春季学期 1 February – 31 July. The
console's Reports.vue follows the same boundaries.

A day in August, the summer holiday, is in no term's teaching weeks; what is counted per term
(pairing's aid and its "second gift in one term" flag) counts it with the spring term that
the holiday closes, as January and the winter holiday's first days count with the autumn term.

A term's key, `2026-autumn` (1 Sep 2026 – 31 Jan 2027) or `2027-spring` (1 Feb – 31 Jul
2027, and August with it when counting), is what pairing stores as `period_key`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Season = Literal["spring", "autumn"]

AUTUMN_FIRST_MONTH = 9   # 1 September
SPRING_FIRST_MONTH = 2   # 1 February
SPRING_LAST_MONTH = 7    # 31 July; August is the summer holiday


# The same two terms as "MM-DD:MM-DD" ranges, the form in which a county whose schools keep
# other dates sets its own (visits' per-term duties: SHOUHU_VISITS_TERMS).
TERMS_SPEC = f"{SPRING_FIRST_MONTH:02d}-01:{SPRING_LAST_MONTH:02d}-31,{AUTUMN_FIRST_MONTH:02d}-01:01-31"


@dataclass(frozen=True, order=True)
class SchoolTerm:
    year: int        # the calendar year the term begins in
    season: Season

    @property
    def key(self) -> str:
        return f"{self.year}-{self.season}"

    @property
    def label(self) -> str:
        """As the screens and documents write it: 2026年秋季学期, 2027年春季学期."""
        return f"{self.year}年{'秋季' if self.season == 'autumn' else '春季'}学期"

    @property
    def first_day(self) -> date:
        return date(self.year, AUTUMN_FIRST_MONTH if self.season == "autumn" else SPRING_FIRST_MONTH, 1)

    @property
    def last_day(self) -> date:
        """The last teaching day by the rule: 31 January or 31 July (August is a holiday)."""
        if self.season == "autumn":
            return date(self.year + 1, 1, 31)
        return date(self.year, SPRING_LAST_MONTH, 31)


def term_of(day: date) -> SchoolTerm:
    """The term `day` counts in: February–August the spring term of its year (August, the
    summer holiday, with the spring term it closes), September–December the autumn term of
    its year, January the autumn term that began the September before."""
    if day.month >= AUTUMN_FIRST_MONTH:
        return SchoolTerm(day.year, "autumn")
    if day.month >= SPRING_FIRST_MONTH:
        return SchoolTerm(day.year, "spring")
    return SchoolTerm(day.year - 1, "autumn")


"""The division register in memory: the divisions under one code (a county, usually),
loaded once and then consulted without a query: every row of an import, every record of a
list or export. Pure: built from the rows store_divisions reads.

It answers two questions. Does a code exist (in the newest edition), and where does it
lie; and what is a township or village a survey names (a 12-digit code, the 9-digit
statistical form 520424108, or its name within the county: 新铺镇, 大盘江村 for
大盘江村村民委员会)? And it names codes: 关岭布依族苗族自治县 / 新铺镇 / 大盘江村村民委员会.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from shared.rules import RuleViolation

LEVELS = {1: "province", 2: "city", 3: "county", 4: "township", 5: "village"}
_TWELVE = re.compile(r"\d{12}")
_NINE = re.compile(r"\d{9}")
# What surveys leave out of a committee's registered name: 大盘江村村民委员会 → 大盘江村,
# 城关社区居民委员会 → 城关社区.
_COMMITTEE_SUFFIXES = ("村民委员会", "居民委员会", "村委会", "居委会")

UNKNOWN_COUNTY = "区划代码中没有这个县（区） / not a county of the division register"
UNKNOWN_TOWNSHIP = "本县没有这个乡镇（街道），请核对代码或名称 / no such township in this county; check the code or name"
UNKNOWN_VILLAGE = "本乡镇没有这个村（社区），请核对代码或名称 / no such village in this township; check the code or name"
AMBIGUOUS_NAME = "名称不唯一，请填写12位代码 / the name is not unique; give the 12-digit code"


@dataclass
class DivisionRegister:
    prefix: str                                       # what was loaded: '520424' for a county
    edition: str | None = None                        # the newest edition loaded
    names: dict[str, str] = field(default_factory=dict)   # code → name (newest edition that has it)
    current: dict[str, int] = field(default_factory=dict)  # code → level, in the newest edition
    # (parent code, name or short name) → code, in the newest edition; None when two share it
    by_name: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # (county, township, village) as a sheet wrote them → their codes or the refusal: the
    # import's memo, filled as rows are read (it travels empty with each batch).
    resolved: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)
    # The school register of these counties for an import: every word a sheet may name a
    # school by → its id (schools.school_words); None when the counties keep no register.
    schools: dict[str, str | None] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_rows(cls, prefix: str, rows: Iterable[Any]) -> "DivisionRegister":
        """Rows of (edition, code, level, name), oldest edition first."""
        register = cls(prefix)
        rows = list(rows)
        newest = max((row["edition"] for row in rows), default=None)
        register.edition = newest
        for row in rows:
            code, name = row["code"], row["name"]
            register.names[code] = name
            if row["edition"] == newest:
                register.current[code] = row["level"]
        for code, level in register.current.items():
            if level in (4, 5):
                parent = code[:6].ljust(12, "0") if level == 4 else code[:9] + "000"
                for spelling in _spellings(register.names[code]):
                    key = (parent, spelling)
                    register.by_name[key] = None if register.by_name.get(key, code) != code else code
        return register

    def covers(self, code: str) -> bool:
        return code.startswith(self.prefix)

    def name_of(self, code: str | None) -> str | None:
        return self.names.get(code) if code else None

    def is_county(self, code: str) -> bool:
        return self.current.get(code) == 3

    def resolve_township(self, county_code: str, value: str, field_name: str = "township_code") -> str:
        """A township of the county, from its 12-digit or 9-digit code or its name."""
        code = _as_code(value, 9)
        if code is None:
            code = self._by_name(county_code, value, field_name, UNKNOWN_TOWNSHIP)
        if self.current.get(code) != 4 or code[:6] != county_code[:6]:
            raise RuleViolation(field_name, UNKNOWN_TOWNSHIP)
        return code

    def resolve_village(self, township_code: str, value: str, field_name: str = "village_code") -> str:
        """A village (community) of the township, from its 12-digit code or its name."""
        code = _as_code(value, 12)
        if code is None:
            code = self._by_name(township_code, value, field_name, UNKNOWN_VILLAGE)
        if self.current.get(code) != 5 or code[:9] != township_code[:9]:
            raise RuleViolation(field_name, UNKNOWN_VILLAGE)
        return code

    def _by_name(self, parent: str, value: str, field_name: str, unknown: str) -> str:
        key = (parent, value.replace(" ", ""))
        if key not in self.by_name:
            raise RuleViolation(field_name, unknown)
        code = self.by_name[key]
        if code is None:
            raise RuleViolation(field_name, AMBIGUOUS_NAME)
        return code

    def check(self, county: str, township: str, village: str | None) -> None:
        """A record's 12-digit codes exist in the newest edition and nest (the API's check)."""
        if not self.is_county(county):
            raise RuleViolation("jurisdiction.county_code", UNKNOWN_COUNTY)
        self.resolve_township(county, township, "jurisdiction.township_code")
        if village is not None:
            self.resolve_village(township, village, "jurisdiction.village_code")

    def names_of(self, county: str | None, township: str | None, village: str | None) -> dict[str, str | None]:
        """The names a record, list row or export shows beside its codes."""
        return {"county": self.name_of(county), "township": self.name_of(township), "village": self.name_of(village)}


def _as_code(value: str, short_length: int) -> str | None:
    """A 12-digit code as given; the 9-digit statistical form of a township padded; None
    when the value is not a code (a name)."""
    if _TWELVE.fullmatch(value):
        return value
    if short_length == 9 and _NINE.fullmatch(value):
        return value + "000"
    if value.isdigit():
        return "invalid"
    return None


def _spellings(name: str) -> set[str]:
    spellings = {name}
    for suffix in _COMMITTEE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            short = name[: -len(suffix)]
            spellings.add(short)
            if suffix.startswith("村") and not short.endswith("村"):
                spellings.add(short + "村")
    return spellings

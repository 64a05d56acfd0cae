"""A national ID's region code is checked against the birth date the ID itself encodes:
codes are created and retired (关岭 520424 exists since 2000, 崇文区 110103 until 2010),
so a code is valid for a child born while it existed. python-stdnum's dated table is the
authority; these tests compare the registry's precomputed ranges with it, code by code."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum import numdb
from stdnum.cn import ric

from services.registry import identity
from shared.rules import RuleViolation
from tests.registry.helpers import check_digit

BIRTH_YEARS = (1950, 1984, 1999, 2000, 2008, 2010, 2012, 2015, 2020, 2025)


def _every_region_in_stdnums_table() -> list[str]:
    return [province + county for _l, province, _h, _p, counties in numdb.get("cn/loc").prefixes
            for _l, county, _h, _p, _c in counties]


def _id(region: str, born: date, sequence: str = "001") -> str:
    first17 = f"{region}{born:%Y%m%d}{sequence}"
    return first17 + check_digit(first17)


def _stdnum_accepts(number: str) -> bool:
    try:
        ric.get_birth_place(number)
    except Exception:  # noqa: BLE001 - stdnum raises KeyError for a code missing in a known province
        return False
    return ric.is_valid(number)


def _registry_accepts(number: str) -> bool:
    try:
        identity.normalize_national_id(number)
    except RuleViolation:
        return False
    return True


def test_every_region_code_is_judged_by_the_birth_year_as_stdnum_judges_it() -> None:
    regions = _every_region_in_stdnums_table()
    assert len(regions) > 6000
    disagreements = [(region, year) for region in regions for year in BIRTH_YEARS
                     if _registry_accepts(_id(region, date(year, 6, 15))) != _stdnum_accepts(_id(region, date(year, 6, 15)))]
    assert disagreements == []
    # Not the old "as of 1990" rule: far more codes are valid for a child born in 2015 than
    # the ~1,860 that existed in 1990 and still do.
    valid_2015 = sum(_registry_accepts(_id(region, date(2015, 6, 15))) for region in regions)
    assert valid_2015 > 3400


@pytest.mark.parametrize("number", [
    "520424201208216659",            # 关岭布依族苗族自治县, code since 2000
    _id("110112", date(2016, 3, 9)),  # 通州区 (Beijing), since 1997
    _id("110119", date(2016, 3, 9)),  # 延庆区, since 2015
    _id("110103", date(2008, 3, 9)),  # 崇文区, until 2010: valid for a child born in 2008
    _id("120110", date(1990, 3, 9)),  # 天津 东郊区 before 1992, 东丽区 after: the code stayed
    _id("120110", date(2012, 3, 9)),
])
def test_region_codes_valid_on_the_birth_date_are_accepted(number: str) -> None:
    assert identity.normalize_national_id(number) == number


@pytest.mark.parametrize("number", [
    _id("110103", date(2012, 3, 9)),  # 崇文区 was retired in 2010, before this child was born
    _id("110229", date(2016, 3, 9)),  # 延庆县, until 2015
    _id("520424", date(1995, 3, 9)),  # 关岭's code did not exist yet in 1995
    _id("119999", date(2016, 3, 9)),  # never a code
    _id("990101", date(2016, 3, 9)),  # no such province
])
def test_region_codes_not_in_use_on_the_birth_date_are_refused(number: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        identity.normalize_national_id(number)
    assert refused.value.field == "national_id"
    assert "地区代码" in refused.value.reason and number not in refused.value.reason

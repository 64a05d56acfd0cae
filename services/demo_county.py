"""The demo's county: its townships, villages, schools and people, taken from the division
register the registry ships (services/registry/data), so `shouhu seed --county CODE` can
load any county the registry would accept. Pure, apart from reading that file.

National ID numbers are made for the county's region code only in the birth years the
registry accepts it (identity.region_valid_in, the rule of GB 11643's dated codes).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from services.registry.division_data import shipped_editions
from services.registry.identity import region_valid_in

DEFAULT_COUNTY = "520424000000"
# `make up`'s county, its five townships and villages chosen by hand once (the console's
# browser tests name them: 顶云街道 is the clerk's township, 关岭县顶云中心小学 the principal's
# school); any other county takes its first townships and villages in code order.
CHOSEN: dict[str, dict[str, tuple[str, ...]]] = {DEFAULT_COUNTY: {
    "520424002000": ("520424002001", "520424002002", "520424002003", "520424002202", "520424002204"),  # 顶云街道
    "520424007000": ("520424007001", "520424007002", "520424007201", "520424007202", "520424007203"),  # 百合街道
    "520424102000": ("520424102001", "520424102211", "520424102223", "520424102225", "520424102226"),  # 永宁镇
    "520424108000": ("520424108202", "520424108204", "520424108209", "520424108217", "520424108218"),  # 新铺镇
    "520424110000": ("520424110001", "520424110002", "520424110201", "520424110202", "520424110203"),  # 花江镇
}}
TOWNSHIPS_AT_MOST = 5
VILLAGES_AT_MOST = 5
SCHOOLS_PER_TOWNSHIP = 3
_SCHOOL_KINDS = (("中心小学", "primary"), ("九年制学校", "nine_year"), ("小学教学点", "teaching_point"))

# The 55 minority peoples, to shorten 关岭布依族苗族自治县 to 关岭县 (as schools are named)
# and 某某苗族乡 to 某某; the longest first, so 土家 is not read as 土.
_PEOPLES = sorted("壮 回 满 维吾尔 苗 彝 土家 藏 蒙古 侗 布依 瑶 白 朝鲜 哈尼 黎 哈萨克 傣 畲 傈僳 东乡 仡佬 拉祜 佤 水 "
                  "纳西 羌 土 仫佬 锡伯 柯尔克孜 景颇 达斡尔 撒拉 布朗 毛南 塔吉克 普米 阿昌 怒 鄂温克 京 基诺 德昂 "
                  "保安 俄罗斯 裕固 乌孜别克 门巴 鄂伦春 独龙 赫哲 高山 珞巴 塔塔尔".split(), key=len, reverse=True)
_ETHNIC = "(?:(?:" + "|".join(_PEOPLES) + ")族)+"
_AUTONOMOUS = re.compile(rf"^(.+?){_ETHNIC}自治([县旗])$")
_TOWNSHIP_SUFFIX = re.compile(rf"(?:{_ETHNIC})?(?:街道办事处|街道|镇|乡|苏木)$")


class UnknownCounty(ValueError):
    """The code is not a county (区、县、县级市、旗) of the division register."""


@dataclass(frozen=True)
class DemoCounty:
    code: str                                  # 12 digits: 520424000000
    name: str                                  # 关岭布依族苗族自治县
    short_name: str                            # 关岭县: how its schools are named
    villages: dict[str, tuple[str, ...]]       # township code → its demo villages
    names: dict[str, str]                      # township code → 顶云街道

    @property
    def townships(self) -> list[str]:
        return list(self.villages)

    @property
    def region(self) -> str:
        return self.code[:6]

    @property
    def default(self) -> bool:
        return self.code == DEFAULT_COUNTY

    def prefix(self) -> str:
        """What makes the demo's ids and Idempotency-Keys the county's own: two demo counties
        merged into one deployment must not share a school id or a key. Empty for `make up`'s
        county, whose ids (demo-school-002-1) the browser tests name."""
        return "" if self.default else f"{self.region}-"

    def school_id(self, township: str, n: int) -> str:
        return f"demo-school-{self.prefix()}{township[6:9]}-{n}"

    def schools(self) -> list[dict[str, Any]]:
        """Invented schools: the first of each township a 中心小学, the second a 九年制, the third
        a 小学教学点."""
        return [{"id": self.school_id(township, n), "stage": _SCHOOL_KINDS[n - 1][1], "township_code": township,
                 "name": f"{self.short_name}{_short_township(self.names[township])}{_SCHOOL_KINDS[n - 1][0]}"}
                for township in self.townships for n in range(1, SCHOOLS_PER_TOWNSHIP + 1)]

    def national_id(self, born: date, gender: str, taken: set[str]) -> str | None:
        """A valid number of this county's region for the birth date, none taken before (the
        registry refuses a number twice); None when the region code did not exist in that year
        (a child born before the county was created holds another county's code)."""
        if not region_valid_in(self.region, born.year):
            return None
        odd = 1 if gender == "male" else 0
        for two in range(100):
            # Never an order code tests/registry/helpers.national_id makes (its third digit is
            # 2·(the two before mod 5), or one more): a browser test's new child never meets a
            # demo child's number.
            for step in range(1, 5):
                first17 = f"{self.region}{born:%Y%m%d}{two:02d}{2 * ((two + step) % 5) + odd}"
                if first17 not in taken:
                    taken.add(first17)
                    return first17 + _check_digit(first17)
        return None

    def people(self, teacher_id: str | None) -> list[dict[str, Any]]:
        """The development sign-in's people of this county (scripts/stack writes them into the
        console's dev-tokens.json): its officer, the first township's clerk, the principal of
        that township's 中心小学 and, when known, one of its teachers."""
        township = self.townships[0]
        school = self.school_id(township, 1)
        office = self.names[township][-2:] if self.names[township].endswith("街道") else self.names[township][-1]
        people: list[dict[str, Any]] = [
            {"key": "county_officer", "name": "王丽华", "duty": f"{self.name[-1]}妇联儿童工作部",
             "roles": ["county_staff"], "jurisdiction": self.code, "school_id": None,
             "permissions": ["view_sensitive"]},  # may see a record in clear, stating why (each read is recorded)
            {"key": "township_clerk", "name": "陈建国", "duty": f"{office}民政办", "roles": ["township_staff"],
             "jurisdiction": township, "school_id": None},
            # A school head sees their own school only.
            {"key": "principal", "name": "刘校长", "duty": "中心小学校长", "roles": ["school_staff"],
             "jurisdiction": township, "school_id": school},
        ]
        if teacher_id:
            people.append({"key": "teacher", "name": "赵老师", "duty": "中心小学教师（结对帮扶人）", "roles": ["caregiver"],
                           "jurisdiction": township, "school_id": school, "caregiver_id": teacher_id})
        return people


def _check_digit(first17: str) -> str:
    """GB 11643's ISO 7064 MOD 11-2 (weights 2^(17-i) mod 11), as the registry checks it."""
    return "10X98765432"[sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17)) % 11]


def _short_township(name: str) -> str:
    return _TOWNSHIP_SUFFIX.sub("", name) or name


def _short_county(name: str) -> str:
    autonomous = _AUTONOMOUS.match(name)
    return autonomous.group(1) + autonomous.group(2) if autonomous else name


def county_code(given: str) -> str:
    """'520424' or '520424000000' → '520424000000'; anything else refused."""
    if re.fullmatch(r"\d{6}", given):
        return given + "000000"
    if re.fullmatch(r"\d{6}0{6}", given):
        return given
    raise UnknownCounty(f"{given} is not a county code: give its 6 digits (520424) or 12 digits (520424000000)")


@lru_cache(maxsize=8)
def demo_county(given: str = DEFAULT_COUNTY) -> DemoCounty:
    """The county of `given` (6 or 12 digits) with its first townships that have villages, from
    the newest shipped edition of the division register; UnknownCounty (one line) otherwise."""
    code = county_code(given)
    edition, rows = _rows_of(code[:6])
    name = rows.get(code[:6])
    if name is None:
        raise UnknownCounty(f"{code} is not a county (区、县、县级市、旗) of the division register, edition {edition}")
    chosen = CHOSEN.get(code, {})
    if not chosen:
        townships = sorted(c for c in rows if len(c) == 9)
        for township in townships:
            villages = sorted(c for c in rows if len(c) == 12 and c.startswith(township))[:VILLAGES_AT_MOST]
            if villages:
                chosen[township + "000"] = tuple(villages)
            if len(chosen) == TOWNSHIPS_AT_MOST:
                break
    if not chosen:
        raise UnknownCounty(f"{code} ({name}) has no townships with villages in the division register, "
                            f"edition {edition}")
    return DemoCounty(code=code, name=name, short_name=_short_county(name), villages=chosen,
                      names={township: rows[township[:9]] for township in chosen})


@lru_cache(maxsize=8)
def _rows_of(region: str) -> tuple[str, dict[str, str]]:
    """The edition's name and its lines under the 6-digit region, code (as the file writes it,
    6/9/12 digits) → name. The file holds the whole country: searched as one text, not parsed
    line by line (a fraction of the time)."""
    edition = shipped_editions()[-1]
    with gzip.open(edition.path, "rt", encoding="utf-8") as text:
        found = re.findall(rf"^({region}(?:\d{{3}}|\d{{6}})?),([^\n]*)$", text.read(), re.MULTILINE)
    return edition.name, dict(found)

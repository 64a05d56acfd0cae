"""Validators for what identifies a child and reaches a family: names, national ID numbers
(GB 11643), phone numbers, dates. Pure functions; each raises RuleViolation naming the
field and the reason (Chinese and English), never echoing the value."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from operator import mul

import phonenumbers

from shared.rules import RuleViolation

# Middle dots people type in minority names (阿依古丽·买买提): all become U+00B7.
_DOTS = str.maketrans({"・": "·", "•": "·", "‧": "·", "．": "·", "∙": "·", "⋅": "·", "●": "·", "。": "·"})
# Han (incl. extension planes: 𠮷 is U+20BB7), letters for minority and foreign names, the dot.
_NAME = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134fA-Za-z·\s]{1,50}$")


def clean_text(value: object) -> str:
    """NFKC (full-width digits and letters become ASCII), trimmed, inner spaces collapsed."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())


_SPACED_DOT = re.compile(r"\s*·\s*")


def normalize_name(value: object, field: str = "name") -> str:
    name = clean_text(value)
    if not name.isascii():
        name = name.translate(_DOTS)
        if "·" in name:  # most names have no dot: skip the regex for them
            name = _SPACED_DOT.sub("·", name)
    if not name:
        raise RuleViolation(field, "必填 / is required")
    if not _NAME.match(name) or name.startswith("·") or name.endswith("·"):
        raise RuleViolation(field, "姓名只能包含汉字、字母和间隔号 / only Han characters, letters and the middle dot")
    return name


def normalize_national_id(value: object, field: str = "national_id") -> str:
    """'11010520160309123x ' → '11010520160309123X'; check digit verified."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise RuleViolation(field, "身份证号须以文本格式填写 / the ID must be stored as text, not as a number")
    number = clean_text(value).replace(" ", "").upper()
    if not number:
        raise RuleViolation(field, "必填 / is required")
    if not _ID_SHAPE.fullmatch(number):
        raise RuleViolation(field, "身份证号应为18位 / must be 18 characters: 17 digits and a digit or X")
    # python-stdnum's check digit, date and dated-region rules; its region table is read
    # once into year ranges, since looking it up per ID would dominate a large import.
    if _check_digit(number) != number[-1]:
        raise RuleViolation(field, "身份证号第18位校验码不对，请核对 / the check digit is wrong")
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise RuleViolation(field, "身份证号中的出生日期无效 / the birth date in the ID is not a valid date") from None
    if not region_valid_in(number[:6], int(number[6:10])):
        raise RuleViolation(field, "身份证号中的地区代码在出生年份不存在，请核对 / "
                                   "the region code in the ID did not exist in the birth year it encodes")
    return number


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_SHAPE = re.compile(r"\d{17}[\dX]")


def _check_digit(number: str) -> str:
    # GB 11643's ISO 7064 MOD 11-2, as ric.calc_check_digit computes it, without its
    # generic cleaning of the input (already clean here), which costs more than the sum.
    return "10X98765432"[sum(map(mul, map(int, number[:17]), _WEIGHTS)) % 11]


def region_valid_in(region: str, year: int) -> bool:
    """Whether the 6-digit region code existed in `year`, the birth year the ID encodes, by
    python-stdnum's dated table (the rule of `ric.get_birth_place`: codes are created and
    retired, 520424 关岭 exists since 2000, 110103 崇文区 until 2010). The table is read
    once per process into ranges; a look-up is then a dict access and a comparison or two."""
    for start, end in region_years().get(region, ()):
        if (start is None or year >= start) and (end is None or year <= end):
            return True
    return False


@lru_cache(maxsize=1)
def region_years() -> dict[str, tuple[tuple[int | None, int | None], ...]]:
    """Every region code of stdnum's table → the year ranges it was in use ((None, None):
    undated, always valid). Built on first use, not at import."""
    from stdnum import numdb

    ranges: dict[str, tuple[tuple[int | None, int | None], ...]] = {}
    for _length, province, _hi, _props, counties in numdb.get("cn/loc").prefixes:
        for _length, county, _hi, props, _children in counties:
            spans: list[tuple[int | None, int | None]] = []
            for name in props.get("county", "").split(","):
                dated = _DATED_NAME.match(name)
                if dated is None:  # stdnum: an undated name makes the code valid in every year
                    spans = [(None, None)]
                    break
                start, end = dated.groups()
                spans.append((int(start) if start else None, int(end) if end else None))
            ranges[province + county] = tuple(spans)
    return ranges


_DATED_NAME = re.compile(r"^\[(\d*)-(\d*)\]")


@lru_cache(maxsize=4096)
def facts_from_national_id(number: str) -> tuple[date, str]:
    """The birth date and gender GB 11643 encodes (positions 7-14, as ric.get_birth_date
    reads them, for a number normalize_national_id accepted): the 17th digit is odd for a male."""
    birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return birth, ("male" if int(number[16]) % 2 else "female")


def check_id_agrees(number: str, birth_date: date, gender: str, field: str = "national_id") -> None:
    encoded_birth, encoded_gender = facts_from_national_id(number)
    if encoded_birth != birth_date:
        raise RuleViolation(field, "身份证号中的出生日期与出生日期不符 / the birth date in the ID does not match the record")
    if encoded_gender != gender:
        raise RuleViolation(field, "身份证号中的性别与性别不符 / the gender in the ID does not match the record")


_MOBILE = re.compile(r"^(?:\+?86)?(1\d{10})$")


def normalize_phone(value: object, field: str) -> str:
    """Any Chinese mobile or landline (or a number abroad), returned in E.164 (+8613800138000)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = clean_text(value).replace(" ", "").replace("-", "")
    mobile = _MOBILE.match(text)
    if mobile:
        # A mobile's validity depends on its prefix only: ask phonenumbers once per prefix.
        number = mobile.group(1)
        if not _valid_mobile_prefix(number[:7]):
            raise RuleViolation(field, "电话号码无效 / not a valid phone number in China or abroad")
        return "+86" + number
    return _parse_phone(text, field)


@lru_cache(maxsize=65536)
def _valid_mobile_prefix(prefix: str) -> bool:
    # Chinese mobile ranges are allocated by prefixes of at most 7 digits (1740 0-5…).
    return phonenumbers.is_valid_number(phonenumbers.parse(prefix + "0000", "CN"))


def _parse_phone(text: str, field: str) -> str:
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise RuleViolation(field, "电话号码格式错误 / not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise RuleViolation(field, "电话号码无效 / not a valid phone number in China or abroad")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def parse_date(value: object, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 20160309 typed into a number cell
    text = clean_text(value).replace(" ", "")
    if len(text) == 10 and text[4] == "-":
        try:
            return date.fromisoformat(text)  # the template's format; strptime is slow
        except ValueError:
            pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RuleViolation(field, "日期格式应为 YYYY-MM-DD / a date is written YYYY-MM-DD")


_MONTH = re.compile(r"((?:19|20)\d{2})\s*[-/.年]?\s*(\d{1,2})\s*月?")


def parse_month(value: object, field: str) -> str:
    """外出时间 as surveys write it: a month (2020-02, 2020/2, 2020.2, 2020年2月, 202002) →
    '2020-02'; a whole date (or a date cell) → '2020-02-01'."""
    if isinstance(value, (date, datetime)) or (isinstance(value, str) and len(clean_text(value)) >= 8
                                                and not clean_text(value).endswith("月")):
        return parse_date(value, field).isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    month = _MONTH.fullmatch(clean_text(value).replace(" ", ""))
    if month is None or not 1 <= int(month.group(2)) <= 12:
        raise RuleViolation(field, "外出时间应为年月（2020-02）或日期（2020-02-01） / a month (2020-02) or a date")
    return f"{month.group(1)}-{int(month.group(2)):02d}"


@dataclass(frozen=True)
class BirthMonth:
    """出生年月 as surveys write it: a year and month without the day, which only the national
    ID can complete. A month typed into a number cell loses its trailing zero (2015.10 is
    stored as 2015.1), so such a value stands for each month it may have been."""
    year: int
    months: frozenset[int]

    def agrees_with(self, born: date) -> bool:
        return born.year == self.year and born.month in self.months


def parse_birth(value: object, field: str) -> date | BirthMonth:
    """A birth date (parse_date's forms) or, where the survey has 出生年月, a month."""
    if isinstance(value, float) and not value.is_integer() and 1900 < value < 2100:
        year, fraction = f"{value:.2f}".split(".")
        months = {int(fraction), int(fraction[0])} if fraction.endswith("0") else {int(fraction)}
        months &= set(range(1, 13))
        if months:
            return BirthMonth(int(year), frozenset(months))
    try:
        return parse_date(value, field)
    except RuleViolation:
        month = _MONTH.fullmatch(clean_text(value).replace(" ", ""))
        if month is None or not 1 <= int(month.group(2)) <= 12:
            raise RuleViolation(field, "日期格式应为 YYYY-MM-DD（出生年月可写 2015-03）/ a date is written "
                                       "YYYY-MM-DD (a birth month as 2015-03)") from None
        return BirthMonth(int(month.group(1)), frozenset({int(month.group(2))}))


def mask_national_id(number: str) -> str:
    """The first four and the last four stay visible (5204**********6659), as the counties
    print them: the county and the birth date are hidden with the rest."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(e164: str) -> str:
    digits = e164.removeprefix("+86")
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


def mask_address(address: str) -> str:
    return address[:6] + "****" if len(address) > 6 else "****"

"""Which template column a sheet's header names. Schools' survey sheets rarely carry the
template's headers word for word (儿童姓名, 身份证号码, 乡镇（街道）, 村代码, 与儿童关系…): the words
below are read as the template's columns; a header that is none of them is kept in the
job's report as an unmapped column, never dropped without a word."""

from __future__ import annotations

import difflib
import re
from typing import Any

from services.registry import vocabulary

# Header words → column key, besides each column's own Chinese header and its key.
HEADER_WORDS: dict[str, str] = {
    **dict.fromkeys(("儿童姓名", "学生姓名", "幼儿姓名"), "name"),
    **dict.fromkeys(("出生年月日", "出生年月", "出生时间", "生日"), "birth_date"),
    **dict.fromkeys(("身份证号码", "公民身份号码", "身份证", "身份证件号码", "儿童身份证号"), "national_id"),
    **dict.fromkeys(("户口性质", "户籍性质", "户口类型"), "household_type"),
    **dict.fromkeys(("县区", "县（区）", "区县代码", "县（区）代码", "县代码"), "county_code"),
    **dict.fromkeys(("乡镇", "乡镇（街道）", "乡镇街道", "乡镇名称", "所属乡镇", "乡（镇）", "乡镇代码"), "township_code"),
    **dict.fromkeys(("村代码", "村（社区）", "村社区", "村名", "村（居）", "行政村", "所属村", "村（居）委会", "村居"),
                    "village_code"),
    **dict.fromkeys(("学校", "学校名称", "就读学校"), "school_id"),
    **dict.fromkeys(("住址", "现住址", "家庭地址"), "address"),
    **dict.fromkeys(("留守情况",), "left_behind_type"),
    **dict.fromkeys(("类别", "儿童类型"), "categories"),
    **dict.fromkeys(("困境类型", "困境儿童类别"), "sensitive_categories"),
    **dict.fromkeys(("监护人", "委托监护人", "委托监护人姓名"), "guardian_name"),
    **dict.fromkeys(("与儿童关系", "监护人与儿童关系", "与监护人关系"), "guardian_relation"),
    **dict.fromkeys(("监护人身体状况", "监护人健康", "监护人健康状况"), "guardian_health"),
    **dict.fromkeys(("在校情况", "就学状态", "就学情况", "是否在校"), "school_status"),
    **dict.fromkeys(("是否寄宿", "寄宿生", "是否住校", "住校"), "boarding"),
    **dict.fromkeys(("学习成绩", "学习状况", "学业情况"), "study_level"),
    **dict.fromkeys(("爱好", "兴趣爱好", "特长爱好", "特长"), "hobbies"),
    **dict.fromkeys(("特殊情况", "特殊情况说明", "其他情况"), "particulars"),
    **dict.fromkeys(("监护人联系电话", "监护人手机", "联系电话"), "guardian_phone"),
    **{f"{parent}{word}": f"{key}_{field}" for parent, key in (("父亲", "father"), ("母亲", "mother"))
       for word, field in (("", "name"), ("外出务工地", "work_place"), ("务工地点", "work_place"),
                           ("工作单位", "work_place"), ("联系电话", "phone"), ("手机", "phone"),
                           ("外出务工时间", "away_since"))},
}
_PARENTHESES = re.compile(r"[(（][^)）]*[)）]")


def header_key(cell: object, by_zh: dict[str, str], keys: set[str]) -> str | None:
    """The column key a header names; '' for a header that names none; None for an empty
    cell. `by_zh`: each template column's Chinese header → key."""
    text = str(cell or "").strip()
    if not text:
        return None
    unstarred = text.replace("*", "")
    first_line = unstarred.split("\n", 1)[0].replace(" ", "").replace("\u3000", "")
    first_word = re.split(r"[\s(（]", unstarred, maxsplit=1)[0]  # the template's "中文 English"
    for candidate in (first_line, _PARENTHESES.sub("", first_line), first_word):
        key = by_zh.get(candidate) or HEADER_WORDS.get(candidate)
        if key:
            return key
    english = text.lower().replace("*", "").strip()
    return english if english in keys else ""


_ID = re.compile(r"\d{17}[\dXx]")
_MOBILE = re.compile(r"1\d{10}")
_TOWNSHIP = re.compile(r"\d{6}(?:\d{3}|(?!000)\d{3}000)")
_VILLAGE = re.compile(r"\d{9}(?!000)\d{3}")
_DATE = re.compile(r"(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?")
SAMPLE_ROWS = 200


def suggest(values: list[object], words: dict[str, dict[str, str]]) -> str | None:
    """The column a header-less or unknown column probably is, from its values: 18-digit
    IDs, mobiles, township or village codes, dates, or words of a vocabulary (`words`:
    column key → the words read as its values). None when nothing fits four in five cells."""
    cells = [str(value).strip() for value in values if str(value or "").strip()]
    if not cells:
        return None
    if any(hasattr(value, "year") for value in values):
        return "birth_date"
    for key, fits in (("national_id", _ID.fullmatch), ("guardian_phone", _MOBILE.fullmatch),
                      ("village_code", _VILLAGE.fullmatch), ("township_code", _TOWNSHIP.fullmatch),
                      ("birth_date", _DATE.fullmatch)):
        if sum(1 for cell in cells if fits(cell)) >= 0.8 * len(cells):
            return key
    for key, known in words.items():
        if sum(1 for cell in cells if cell in known) >= 0.8 * len(cells):
            return key
    return None


# What a column's values may be, for the proposals below: column key → the words read as its values.
_VALUE_WORDS = {"gender": vocabulary.GENDER.reading(), "guardian_relation": vocabulary.GUARDIAN_RELATION.reading(),
                "left_behind_type": vocabulary.LEFT_BEHIND_TYPE.reading(), "household_type": vocabulary.HOUSEHOLD_TYPE.reading(),
                "categories": {**vocabulary.CATEGORY.reading(), **vocabulary.SENSITIVE_CATEGORY.reading()}}


def similar_header(header: str, known: dict[str, str]) -> str | None:
    """The column whose known header words the header resembles most (difflib's ratio, at
    least 0.6: 监护人电话号码 → 监护人电话, 乡镇名 → 乡镇名称). `known`: header word → column key."""
    text = _PARENTHESES.sub("", header).replace(" ", "")
    best: set[str] = set()
    best_ratio = 0.6
    for word, key in known.items():
        ratio = difflib.SequenceMatcher(None, text, word).ratio()
        if ratio > best_ratio:
            best, best_ratio = {key}, ratio
        elif ratio == best_ratio:
            best.add(key)
    return best.pop() if len(best) == 1 else None  # two columns alike (父亲/母亲外出时间): no proposal


def suggest_columns(unmapped: list[str], columns: dict[str, int], data: list[list[Any]],
                    known: dict[str, str] | None = None) -> dict[str, str]:
    """Unmapped column ("D 手机号") → the column its first rows' values look like, or, when
    they say nothing, the column its header resembles (`known`: header word → key)."""
    proposals: dict[str, str] = {}
    sample = data[:SAMPLE_ROWS]
    for label in unmapped:
        index = column_index(label.split(" ", 1)[0])
        key = suggest([row[index] for row in sample if index < len(row)],
                      {k: v for k, v in _VALUE_WORDS.items() if k not in columns})
        if key is None and known:
            key = similar_header(label.split(" ", 1)[-1], known)
        if key and key not in columns and key not in proposals.values():
            proposals[label] = key
    return proposals


def column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters

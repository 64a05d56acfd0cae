"""Which template column a sheet's header names. Schools' survey sheets rarely carry the
template's headers word for word (儿童姓名, 身份证号码, 乡镇（街道）, 村代码, 与儿童关系…): the words
below are read as the template's columns; a header that is none of them is kept in the
job's report as an unmapped column, never dropped without a word."""

from __future__ import annotations

import re

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
    **dict.fromkeys(("监护人身体状况", "监护人健康"), "guardian_health"),
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

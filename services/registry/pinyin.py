"""Search keys for a name: the name, its pinyin and its initials, with surnames read as
surnames (曾 is zeng, 单 is shan, 解 is xie…), which pypinyin alone reads as ordinary words."""

from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
# The prefixes of pypinyin's phrase dictionary, as its own segmentation uses them.
from pypinyin.seg.mmseg import p_set as phrase_prefixes

# Surnames whose reading differs from the character's most common reading.
COMPOUND_SURNAMES = {
    "尉迟": ["yu", "chi"], "万俟": ["mo", "qi"], "单于": ["chan", "yu"], "长孙": ["zhang", "sun"],
    "澹台": ["tan", "tai"], "令狐": ["ling", "hu"], "欧阳": ["ou", "yang"], "司马": ["si", "ma"],
    "诸葛": ["zhu", "ge"], "上官": ["shang", "guan"], "东方": ["dong", "fang"], "皇甫": ["huang", "fu"],
}
SURNAMES = {
    "曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "朴": "piao", "查": "zha", "区": "ou",
    "覃": "qin", "尉": "yu", "盖": "ge", "乐": "yue", "缪": "miao", "翟": "zhai", "繁": "po",
    "黑": "he", "秘": "bi", "种": "chong", "员": "yun", "召": "shao", "任": "ren", "那": "na",
    "牟": "mu", "折": "she", "卜": "bu", "句": "gou", "沈": "shen", "宿": "su", "冼": "xian",
    "柏": "bai", "隗": "wei", "过": "guo", "长": "chang", "重": "chong", "朝": "chao",
    "华": "hua", "纪": "ji", "葛": "ge", "郇": "huan", "蕃": "pi", "訾": "zi", "眭": "sui",
}


def name_syllables(name: str) -> list[str]:
    """Pinyin syllables of a name, surname first; characters without a reading are dropped."""
    return list(_syllables(name))


@lru_cache(maxsize=65536)
def _syllables(name: str) -> tuple[str, ...]:
    # Names repeat in a county: cache per name.
    han = _NOT_HAN.sub("", name)
    for surname, reading in COMPOUND_SURNAMES.items():
        if han.startswith(surname):
            return tuple(reading) + _readings(han[len(surname):])
    if han and han[0] in SURNAMES:
        return (SURNAMES[han[0]],) + _readings(han[1:])
    return _readings(han)


_NOT_HAN = re.compile(r"[^\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def _readings(han: str) -> tuple[str, ...]:
    """What `lazy_pinyin(han)` gives, faster. pypinyin segments text into the phrases of its
    dictionary and reads a character on its own only outside them; when no two neighbouring
    characters can begin a phrase (most names), every character is read on its own anyway,
    so each character's reading is looked up (cached) instead: some 50 times faster than
    lazy_pinyin on a name that is not cached yet, which is most names in an import."""
    if any(han[i:i + 2] in phrase_prefixes for i in range(len(han) - 1)):
        return tuple(lazy_pinyin(han, style=Style.NORMAL, errors="ignore"))
    return tuple(syllable for character in han for syllable in _character_reading(character))


@lru_cache(maxsize=32768)
def _character_reading(character: str) -> tuple[str, ...]:
    return tuple(lazy_pinyin(character, style=Style.NORMAL, errors="ignore"))


def search_text(name: str) -> str:
    """'曾小明' → '曾小明 zengxiaoming zxm'; latin letters in the name are kept as typed."""
    syllables = name_syllables(name)
    latin = re.sub(r"[^a-z]", "", name.lower())
    parts = [name.lower(), "".join(syllables) + latin, "".join(s[0] for s in syllables if s)]
    return " ".join(part for part in parts if part)


def normalize_query(query: str) -> str:
    """What the user typed, lower-cased, spaces and apostrophes out of pinyin ("zeng xiao")."""
    text = query.strip().lower()
    if re.fullmatch(r"[a-z' ]+", text):
        return re.sub(r"[' ]", "", text)
    return re.sub(r"\s+", "", text)

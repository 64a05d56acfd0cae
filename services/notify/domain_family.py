"""Families, pure: the words a note to a family may not contain, what a note may be, and which
replies mean "stop sending".

A caregiver writes a short monthly note (家书短信) to a child's guardian or migrant parent on
how the child is doing. What a family reads never labels the child: the server refuses a note
containing any word of the county's list (one list per county, edited by its admin; until a
county saves its own, `DEFAULT_WORDS`). The default list holds the labels the templates'
rule forbids (domain_templates.FORBIDDEN_WORDS: categories, the "left-behind" label) and the
words that pity or blame a child or family, which a parent far away should not read about
their child:

  留守, 留守儿童, 困境, 孤儿, 单亲, 问题儿童, 问题学生, 差生, 后进生, 可怜, 没人管, 没人要,
  缺爹少娘, 缺少父爱, 缺少母爱, 残疾, 智障, 弱智, 多动症, 自闭, 艾滋, 服刑, 坐牢, 吸毒,
  暴力, 虐待, 性侵, 流浪, 贫困户, 低保

Matching is by substring, case-insensitive (so 留守 also catches 留守儿童); a county removes a
word that causes false refusals in its own usage, or adds its own.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from services.notify.domain_templates import FORBIDDEN_WORDS

FAMILY_WORDS = (
    "留守", "留守儿童", "困境", "孤儿", "单亲", "问题儿童", "问题学生", "差生", "后进生", "可怜", "没人管", "没人要",
    "缺爹少娘", "缺少父爱", "缺少母爱", "残疾", "智障", "弱智", "多动症", "自闭", "艾滋", "服刑", "坐牢", "吸毒",
    "暴力", "虐待", "性侵", "流浪", "贫困户", "低保",
)
# One list: the family words, then the templates' forbidden words not already in it.
DEFAULT_WORDS: tuple[str, ...] = tuple(dict.fromkeys((*FAMILY_WORDS, *FORBIDDEN_WORDS)))

MEMBER_KINDS = ("guardian", "parent")
CONSENT_HOW = ("in_person", "by_phone", "in_writing", "by_reply")
# An SMS of 70 Chinese characters is one part; a note may take a few, never a letter's length.
NOTE_MAX_CHARS = 300
# A reply consisting of one of these (trimmed, any case) opts the member out, as Chinese SMS
# rules require a provider and sender to honour (退订 / TD / T / N).
OPT_OUT_REPLIES = frozenset({"退订", "td", "t", "n", "取消", "stop", "unsubscribe"})
MAX_WORDS = 500
MAX_WORD_CHARS = 20


def stigmatising_words(text: str, words: Iterable[str]) -> list[str]:
    """The listed words found in `text`, in the list's order, each once; a word found only
    inside a longer listed word that is also found (留守 in 留守儿童) is still named: the
    caregiver sees everything to change."""
    lowered = text.lower()
    return [word for word in dict.fromkeys(words) if word and word.lower() in lowered]


def clean_words(words: Sequence[str]) -> list[str]:
    """A county's list as saved: trimmed, blanks dropped, duplicates removed, order kept."""
    return list(dict.fromkeys(word.strip() for word in words if word.strip()))


def is_opt_out(reply: str) -> bool:
    return reply.strip().lower() in OPT_OUT_REPLIES

"""The family-note rules, pure: the county's words found in a note, the default list, the
replies that opt a family member out."""

from __future__ import annotations

from services.notify.domain_family import DEFAULT_WORDS, clean_words, is_opt_out, stigmatising_words
from services.notify.domain_templates import DEFAULT_TEMPLATES, FORBIDDEN_WORDS


def test_every_word_found_is_named_once_in_the_lists_order() -> None:
    text = "这个留守儿童很可怜，可怜的孩子"
    assert stigmatising_words(text, DEFAULT_WORDS) == ["留守", "留守儿童", "可怜"]
    assert stigmatising_words("He is an ORPHAN", DEFAULT_WORDS) == ["orphan"]
    assert stigmatising_words("孩子这个月数学进步了，请您放心。", DEFAULT_WORDS) == []


def test_the_default_list_is_one_list_holding_the_templates_forbidden_words() -> None:
    assert set(FORBIDDEN_WORDS) <= set(DEFAULT_WORDS) and len(DEFAULT_WORDS) == len(set(DEFAULT_WORDS))
    assert {"问题儿童", "可怜", "单亲", "没人管"} <= set(DEFAULT_WORDS)
    for template in DEFAULT_TEMPLATES:  # what families read is written by the same rule
        if template.key in ("family_note", "home_visit_scheduled_guardian"):
            assert stigmatising_words(template.body, DEFAULT_WORDS) == [], template


def test_a_countys_list_is_trimmed_and_kept_in_order() -> None:
    assert clean_words([" 调皮", "", "调皮", "留守 "]) == ["调皮", "留守"]


def test_opt_out_replies() -> None:
    for reply in ("退订", " TD ", "t", "N", "取消", "STOP"):
        assert is_opt_out(reply), reply
    for reply in ("谢谢老师", "退订了吗？", "不用退订"):
        assert not is_opt_out(reply), reply

"""Templates: defaults never use stigmatising words; variables checked; zh-CN rendering."""

from __future__ import annotations

import pytest

from services.notify.domain_templates import (
    DEFAULT_TEMPLATES, FORBIDDEN_WORDS, PUBLIC_TEMPLATES, SAMPLE_VARIABLES, TEMPLATE_VARIABLES, TemplateError,
    check_template, forbidden_word_in, pick_template, place_variables, render,
)

# Words that must never appear in what caregivers, guardians or children read (seed 篇23).
STIGMA = ("留守", "困境", "艾滋", "服刑", "吸毒", "暴力", "虐待", "流浪", "孤儿", "残疾",
          "left-behind", "left behind", "abuse", "hiv", "violence", "drug", "orphan", "prison")


@pytest.mark.parametrize("template", DEFAULT_TEMPLATES, ids=lambda t: f"{t.key}-{t.locale}-{t.channel}")
def test_no_default_template_names_a_sensitive_label(template) -> None:
    text = f"{template.subject or ''} {template.body}".lower()
    assert not [word for word in STIGMA if word in text]


def test_every_default_template_passes_its_own_checks_in_both_locales() -> None:
    keys = {(t.key, t.locale) for t in DEFAULT_TEMPLATES}
    for key in TEMPLATE_VARIABLES:
        assert (key, "zh-CN") in keys and (key, "en") in keys, key
    for template in DEFAULT_TEMPLATES:
        check_template(template.key, template.subject, template.body)


def test_unknown_variable_is_refused_naming_it() -> None:
    with pytest.raises(TemplateError) as error:
        check_template("duty_due_soon", None, "您有${duty}，孩子${child_name}")
    assert error.value.field == "body" and "child_name" in error.value.reason


def test_stray_dollar_and_stigmatising_words_are_refused_for_public_templates() -> None:
    with pytest.raises(TemplateError):
        check_template("duty_due_soon", None, "费用 $ 5")
    with pytest.raises(TemplateError) as error:
        check_template("pairing_created_guardian", None, "留守儿童关爱：${started_on}")
    assert "留守" in error.value.reason
    assert forbidden_word_in("Left-Behind children") == "left-behind"
    assert set(STIGMA) <= set(FORBIDDEN_WORDS) | {"prison"}
    assert "pairing_created_guardian" in PUBLIC_TEMPLATES


def test_zh_cn_rendering_uses_chinese_labels() -> None:
    found = {(t.locale, t.channel): t for t in DEFAULT_TEMPLATES if t.key == "contact_overdue"}
    chosen = pick_template(found, "zh-CN", "sms")
    text = render(chosen.body, {"child": "李思雨", "duty": "home_visit", "due_on": "2026-12-01", "days_overdue": 3},
                  chosen.locale)
    assert text == "李思雨的家访还未记录，12月1日已到期（逾期3天），请尽快完成并记录。"
    english = render(pick_template(found, "en", "sms").body, {"duty": "parent_call", "due_on": "x", "days_overdue": 1},
                     "en")
    assert "call with the parents" in english


def test_locale_and_channel_fallback() -> None:
    found = {(t.locale, t.channel): t for t in DEFAULT_TEMPLATES if t.key == "duty_due_soon"}
    assert pick_template(found, "zh-CN", "email").locale == "zh-CN"
    assert pick_template({k: v for k, v in found.items() if k[0] == "en"}, "zh-CN", "sms").locale == "en"


def test_samples_cover_every_variable() -> None:
    for names in TEMPLATE_VARIABLES.values():
        assert names <= SAMPLE_VARIABLES.keys()


def test_a_place_reads_as_a_line_and_never_goes_missing() -> None:
    full = place_variables("新铺镇", "坝山村", "新铺镇中心小学", township_code="520424108000", locale="zh-CN")
    assert full == {"township": "新铺镇", "village": "坝山村", "school": "新铺镇中心小学",
                    "place": "新铺镇坝山村（新铺镇中心小学）"}
    assert place_variables("新铺镇", None, None, township_code="520424108000", locale="zh-CN")["place"] == "新铺镇"
    assert place_variables(None, None, "新铺镇中心小学", township_code="520424108000",
                           locale="en")["place"] == "520424108000, 新铺镇中心小学"

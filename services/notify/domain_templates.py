"""Message templates, pure: the defaults, which variables each may use, checking and rendering.

Templates use `string.Template` (`${duty}`), never an expression language: a county admin
edits them over the API, and nothing they type can run. Stored variables hold no personal
data — a duty kind, a date, a count, a severity, a short reference — and their labels are
localised here, so one stored value renders in Chinese or English. The one exception is
`${child}`, the child's name: it is never stored or carried in an event, but asked of the
registry when the message is sent (or an in-app message is read) and composed in then.
Concern alerts do not get it: a concern tied to a name in a staff group chat says too much.

Wording rule (seed 篇23, architecture brief): what a guardian, child or caregiver reads never
names a sensitive category, the nature of a concern, or the "left-behind" label. Staff
messages say as little: the reference leads them to the record, where access is checked.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date
from typing import Mapping, get_args

from shared.contracts.events import ContactChannel

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
FALLBACK_LOCALE = "en"
# A template per channel a contact can be reached on, or one for all ("default").
TEMPLATE_CHANNELS = ("default", *get_args(ContactChannel))

# Words no default template may contain (tests/notify/test_templates scans them), and that a
# template saved for caregivers or guardians is refused for.
FORBIDDEN_WORDS = (
    "留守", "困境", "孤儿", "残疾", "艾滋", "服刑", "在押", "吸毒", "暴力", "虐待", "侵害", "流浪", "性侵",
    "left-behind", "left behind", "abuse", "hiv", "aids", "orphan", "disab", "incarcerat", "prison",
    "drug", "violence", "street child",
)

# Which variables each template may use. A saved template naming any other is refused (422).
# The place variables (`place`, `township`, `village`, `school`) are names composed in like
# the child's, so a template may use them only where it may use `child`.
_PLACES = frozenset({"place", "township", "village", "school"})
TEMPLATE_VARIABLES: dict[str, frozenset[str]] = {
    "contact_logged": frozenset({"kind", "child"}) | _PLACES,
    "duty_due_soon": frozenset({"duty", "due_on", "child"}) | _PLACES,
    "contact_overdue": frozenset({"duty", "due_on", "days_overdue", "child"}) | _PLACES,
    "contact_overdue_staff": frozenset({"duty", "due_on", "days_overdue", "level", "ref", "child",
                                        "caregiver"}) | _PLACES,
    "concern_raised": frozenset({"severity", "ref", "mandatory"}),
    "concern_escalated": frozenset({"severity", "ref", "level", "mandatory"}),
    "concern_acknowledged": frozenset({"ref"}),
    "concern_deadline_missed": frozenset({"severity", "ref", "level", "mandatory", "state"}),
    "pairing_created": frozenset({"started_on", "child"}) | _PLACES,
    "pairing_ended": frozenset({"ended_on", "child"}) | _PLACES,
    "pairing_created_guardian": frozenset({"started_on", "caregiver"}),
    "pairing_ended_guardian": frozenset({"ended_on"}),
    # A caregiver's note to a family (services/notify/domain_family.py): the note's text is
    # composed in at send time from its encrypted row, never stored in the message's variables.
    "family_note": frozenset({"note", "caregiver"}),
    "home_visit_scheduled_guardian": frozenset({"due_on", "caregiver"}),
}
# Templates whose readers are caregivers or guardians (the stigma rule is enforced on save).
PUBLIC_TEMPLATES = frozenset({"contact_logged", "duty_due_soon", "contact_overdue", "pairing_created",
                              "pairing_ended", "pairing_created_guardian", "pairing_ended_guardian",
                              "family_note", "home_visit_scheduled_guardian"})

_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "zh-CN": {
        "duty": {"home_visit": "家访", "talk": "谈心", "parent_call": "亲情电话", "letter": "家书",
                 "guardian_talk": "与监护人谈心", "plan_review": "帮扶计划回顾",
                 "follow_up": "后续跟进"},
        "kind": {"home_visit": "家访", "talk": "谈心", "parent_call": "亲情电话", "parent_video": "亲情视频",
                 "letter": "家书", "health_check": "健康检查", "activity": "活动", "guardian_training": "家长学校",
                 "guardian_talk": "与监护人谈心"},
        "severity": {"low": "一般", "medium": "较高", "high": "高", "urgent": "紧急"},
        "level": {"caregiver": "结对人", "school": "学校", "township": "乡镇", "county": "县级"},
        "mandatory": {"true": "（须按强制报告程序处理）", "false": ""},
        # What was due next in a concern's case, by the state it is stuck in.
        "state": {"acknowledged": "移送有关部门", "referred": "有关部门受理", "accepted": "记录跟进情况",
                  "following_up": "记录跟进情况"},
    },
    "en": {
        "duty": {"home_visit": "home visit", "talk": "talk", "parent_call": "call with the parents",
                 "letter": "letter", "guardian_talk": "talk with the guardian", "plan_review": "plan review",
                 "follow_up": "follow-up"},
        "kind": {"home_visit": "home visit", "talk": "talk", "parent_call": "call with the parents",
                 "parent_video": "video call with the parents", "letter": "letter", "health_check": "health check",
                 "activity": "activity", "guardian_training": "guardian class",
                 "guardian_talk": "talk with the guardian"},
        "severity": {"low": "low", "medium": "medium", "high": "high", "urgent": "urgent"},
        "level": {"caregiver": "caregiver", "school": "school", "township": "township", "county": "county"},
        "mandatory": {"true": " (mandatory-report procedure applies)", "false": ""},
        "state": {"acknowledged": "referral to an agency", "referred": "the agency's acceptance",
                  "accepted": "a follow-up note", "following_up": "a follow-up note"},
    },
}

# The variable filled in with the child's name at send or read time, never stored.
CHILD_NAME = "child"
# Likewise the caregiver's name (asked of pairing by the `caregiver_id` variable); one that
# pairing no longer shows notify (moved away since) is named by their role.
CAREGIVER_NAME = "caregiver"
UNNAMED_CAREGIVER = {"zh-CN": "结对人", "en": "the caregiver"}
# The names of where the child lives and studies, composed in like the child's name (from the
# registry's division and school registers); `place` is the three together, as a line reads.
PLACE_VARIABLES = ("place", "township", "village", "school")
# Variables that hold a date (ISO in storage), shown as 12月1日 in Chinese.
DATE_VARIABLES = frozenset({"due_on", "started_on", "ended_on"})

# Sample values for previews: realistic, and none of them a real person's.
SAMPLE_VARIABLES = {"child": "王小明", "caregiver": "李老师", "township": "新铺镇", "village": "坝山村",
                    "school": "新铺镇中心小学", "place": "新铺镇坝山村（新铺镇中心小学）",
                    "kind": "home_visit", "duty": "home_visit", "due_on": "2026-12-01", "days_overdue": "3",
                    "level": "township", "ref": "3f2a9c1b", "severity": "urgent", "mandatory": "true",
                    "started_on": "2026-09-01", "ended_on": "2027-01-15", "state": "acknowledged",
                    "note": "孩子这个月学习很认真，数学进步了，请您放心。"}


@dataclass(frozen=True)
class TemplateText:
    key: str
    locale: str
    channel: str
    subject: str | None
    body: str


def _t(key: str, locale: str, body: str, subject: str | None = None, channel: str = "default") -> TemplateText:
    return TemplateText(key, locale, channel, subject, body)


DEFAULT_TEMPLATES: tuple[TemplateText, ...] = (
    _t("contact_logged", "zh-CN", "您与${child}的${kind}记录已保存，谢谢您的付出。", "记录已保存"),
    _t("contact_logged", "en", "Your ${kind} for ${child} has been recorded. Thank you.", "Contact recorded"),
    _t("duty_due_soon", "zh-CN", "温馨提醒：${child}的${duty}将于${due_on}到期，请按时完成并记录。", "待办提醒"),
    _t("duty_due_soon", "en", "Reminder: the ${duty} with ${child} is due on ${due_on}. Please complete and "
       "record it.", "Reminder"),
    _t("contact_overdue", "zh-CN", "${child}的${duty}还未记录，${due_on}已到期（逾期${days_overdue}天），请尽快完成并记录。",
       "逾期提醒"),
    _t("contact_overdue", "en", "The ${duty} with ${child} has not been recorded; it was due on ${due_on}, "
       "${days_overdue} days ago. Please complete and record it soon.", "Overdue"),
    _t("contact_overdue_staff", "zh-CN", "【${level}督办】${place}：${caregiver}负责的${child}的${duty}"
       "（应于${due_on}完成）已逾期${days_overdue}天，编号${ref}，请登录系统跟进。", "逾期督办"),
    _t("contact_overdue_staff", "en", "[${level} follow-up] ${place}: the ${duty} with ${child} (caregiver: "
       "${caregiver}) due on ${due_on} is ${days_overdue} days overdue, reference ${ref}. Please follow up in the "
       "system.", "Overdue follow-up"),
    _t("concern_raised", "zh-CN", "【需立即关注】辖区内有一条新的关注事项，紧急程度：${severity}${mandatory}，编号${ref}，"
       "请立即登录系统查看并确认。", "需立即关注"),
    _t("concern_raised", "en", "[Attention needed] A new concern was raised in your area, severity ${severity}"
       "${mandatory}, reference ${ref}. Please open it in the system and acknowledge it.", "Attention needed"),
    _t("concern_escalated", "zh-CN", "【升级至${level}】一条关注事项未及时确认，紧急程度：${severity}${mandatory}，"
       "编号${ref}，请立即登录系统处理。", "关注事项升级"),
    _t("concern_escalated", "en", "[Escalated to ${level}] A concern was not acknowledged in time, severity "
       "${severity}${mandatory}, reference ${ref}. Please handle it in the system now.", "Concern escalated"),
    _t("concern_acknowledged", "zh-CN", "编号${ref}的关注事项已有人确认处理。", "已确认"),
    _t("concern_acknowledged", "en", "The concern with reference ${ref} has been acknowledged.", "Acknowledged"),
    _t("concern_deadline_missed", "zh-CN", "【${level}督办】编号${ref}的关注事项未按期${state}，"
       "紧急程度：${severity}${mandatory}，请立即登录系统处理。", "关注事项逾期"),
    _t("concern_deadline_missed", "en", "[${level} follow-up] The concern with reference ${ref} is past the deadline "
       "for ${state}, severity ${severity}${mandatory}. Please handle it in the system now.", "Concern overdue"),
    _t("pairing_created", "zh-CN", "您与${child}的结对自${started_on}起生效，请登录查看孩子的联系卡。", "新的结对安排"),
    _t("pairing_created", "en", "You are paired with ${child} from ${started_on}. Please sign in to see the "
       "child's contact card.", "New pairing"),
    _t("pairing_ended", "zh-CN", "您与${child}的结对已于${ended_on}结束，感谢您的付出。", "结对安排结束"),
    _t("pairing_ended", "en", "Your pairing with ${child} ended on ${ended_on}. Thank you.", "Pairing ended"),
    _t("pairing_created_guardian", "zh-CN", "您好，学校和社区为您家孩子安排了联系老师${caregiver}，自${started_on}起，"
       "老师会定期与您联系。", "联系老师安排"),
    _t("pairing_created_guardian", "en", "Hello, the school and community have arranged a contact teacher, "
       "${caregiver}, for your child from ${started_on}, who will keep in touch with you.", "Contact teacher"),
    _t("pairing_ended_guardian", "zh-CN", "您好，您家孩子的联系老师安排已于${ended_on}调整，新的安排会另行通知。",
       "联系老师调整"),
    _t("pairing_ended_guardian", "en", "Hello, your child's contact-teacher arrangement changed on ${ended_on}; "
       "you will be told of the new one.", "Contact teacher changed"),
    _t("family_note", "zh-CN", "${note}（${caregiver}）", "家书"),
    _t("family_note", "en", "${note} (${caregiver})", "A note"),
    _t("home_visit_scheduled_guardian", "zh-CN", "您好，联系老师${caregiver}会在${due_on}前到家里看看孩子，"
       "时间不方便的话，请与老师另约。", "家访安排"),
    _t("home_visit_scheduled_guardian", "en", "Hello, your child's contact teacher, ${caregiver}, will visit you "
       "at home before ${due_on}. If the time does not suit you, please arrange another with the teacher.",
       "Home visit"),
)


class TemplateError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def check_template(key: str, subject: str | None, body: str) -> None:
    """Raises TemplateError naming the first problem: unknown key, bad placeholder, unknown
    variable, or (for what caregivers and guardians read) a forbidden word."""
    if key not in TEMPLATE_VARIABLES:
        raise TemplateError("template_key", f"unknown template '{key}'")
    allowed = TEMPLATE_VARIABLES[key]
    for field, text in (("subject", subject or ""), ("body", body)):
        template = string.Template(text)
        if not template.is_valid():
            raise TemplateError(field, "a '$' must start ${variable}; write '$$' for a dollar sign")
        for name in template.get_identifiers():
            if name not in allowed:
                raise TemplateError(field, f"unknown variable '{name}'; allowed: {', '.join(sorted(allowed))}")
        if key in PUBLIC_TEMPLATES:
            word = forbidden_word_in(text)
            if word:
                raise TemplateError(field, f"wording names a sensitive label ('{word}'), not allowed for "
                                           "caregivers or guardians")


def forbidden_word_in(text: str) -> str | None:
    lowered = text.lower()
    return next((word for word in FORBIDDEN_WORDS if word in lowered), None)


def localise(variables: Mapping[str, object], locale: str) -> dict[str, str]:
    """Raw values (home_visit, urgent, true) → the locale's labels; others as text."""
    labels = _LABELS.get(locale, _LABELS[FALLBACK_LOCALE])
    shown = {}
    for name, value in variables.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if name in DATE_VARIABLES and locale == "zh-CN":
            text = _chinese_date(text)
        shown[name] = labels.get(name, {}).get(text, text)
    return shown


def _chinese_date(iso: str) -> str:
    """2026-12-01 → 12月1日 (reminders are about the weeks ahead); anything else unchanged."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.month}月{day.day}日"


def uses_child_details(template: TemplateText) -> bool:
    """The child's name or a place's: both are asked of the registry in one batch."""
    return any(uses_variable(template, name) for name in (CHILD_NAME, *PLACE_VARIABLES))


def place_variables(township: str | None, village: str | None, school: str | None, *,
                    township_code: str, locale: str) -> dict[str, str]:
    """`township`, `village`, `school` and `place` ("新铺镇坝山村（新铺镇中心小学）"; in English
    "新铺镇, 坝山村, 新铺镇中心小学"). A township the register cannot name shows its code, so a
    line never loses its place; a missing village or school is left out."""
    township = township or township_code
    if locale == "zh-CN":
        place = f"{township}{village or ''}" + (f"（{school}）" if school else "")
    else:
        place = ", ".join(part for part in (township, village, school) if part)
    return {"township": township, "village": village or "", "school": school or "", "place": place}


def uses_variable(template: TemplateText, name: str) -> bool:
    return any(name in string.Template(text or "").get_identifiers() for text in (template.subject, template.body))


def render(body: str, variables: Mapping[str, object], locale: str) -> str:
    """Missing variables render empty rather than fail a delivery (they were checked on save)."""
    values = localise(variables, locale)

    class _Blank(dict):
        def __missing__(self, _key: str) -> str:
            return ""

    return string.Template(body).substitute(_Blank(values))


def pick_template(candidates: Mapping[tuple[str, str], TemplateText], locale: str,
                  channel: str) -> TemplateText | None:
    """The most specific of (locale, channel) → (locale, default) → (en, channel) → (en, default)."""
    for wanted_locale in (locale, FALLBACK_LOCALE):
        for wanted_channel in (channel, "default"):
            found = candidates.get((wanted_locale, wanted_channel))
            if found is not None:
                return found
    return None

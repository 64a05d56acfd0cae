"""The 强制报告登记表 for the agency a concern is referred to: a printable A4 form laid out
from HTML by WeasyPrint in Noto Sans CJK (Debian's fonts-noto-cjk), as the work summary is.

It holds what visits knows of the case: when and how the concern came to light, its nature
and detail, the agencies and their case numbers, the dated follow-up notes and the outcome.
The child's particulars (name, birth date, address, guardian) are the registry's: the form
names the child's record and leaves those lines to be filled from the registry's card, so
that visits never holds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

CATEGORY = {"safety_hazard": "安全隐患", "suspected_abuse": "疑似遭受虐待", "neglect": "疏于照料 / 监护缺失",
            "violence": "遭受暴力侵害", "health": "健康问题", "psychological_distress": "心理困扰",
            "left_school": "辍学 / 失学"}
SEVERITY = {"low": "一般", "medium": "较重", "high": "严重", "urgent": "紧急"}
OUTCOME = {"resolved": "问题已解决", "protected": "已采取保护措施", "guardianship_changed": "已变更监护 / 临时监护",
           "prosecuted": "已依法追责", "unfounded": "经核查不属实", "moved_away": "儿童已迁出", "other": "其他"}
STATE = {"open": "已报告", "acknowledged": "已接报", "referred": "已移送", "accepted": "已受理",
         "following_up": "跟进中", "closed": "已结案"}
CONTACT_KIND = {"home_visit": "家访", "talk": "谈心", "parent_call": "亲情电话", "parent_video": "亲情视频",
                "letter": "书信", "health_check": "健康检查", "activity": "活动", "guardian_training": "家长学校",
                "guardian_talk": "与监护人谈心"}

_STYLE = """
@page { size: A4; margin: 16mm 16mm; }
body { font-family: "Noto Sans CJK SC", "Noto Serif CJK SC", sans-serif; font-size: 10.5pt; line-height: 1.5; }
h1 { text-align: center; font-size: 16pt; margin: 0 0 4pt; } p.sub { text-align: center; margin: 0 0 8pt; }
table { border-collapse: collapse; width: 100%; } th, td { border: 0.6pt solid #333; padding: 3pt 5pt; }
th { width: 22%; background: #f0f0f0; text-align: left; font-weight: normal; } td.blank { height: 16pt; }
.sign { margin-top: 14pt; display: flex; justify-content: space-between; }
"""


@dataclass
class FormFacts:
    concern: Any                      # the concerns row
    contact_kind: str | None
    detail: str | None
    closing_note: str | None
    referrals: list[Any] = field(default_factory=list)
    notes: list[tuple[date, str]] = field(default_factory=list)
    zone: ZoneInfo = ZoneInfo("Asia/Shanghai")
    printed_on: date | None = None


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _row(label: str, value: str, *, raw: bool = False) -> str:
    return f"<tr><th>{escape(label)}</th><td>{value if raw else escape(value)}</td></tr>"


def html(facts: FormFacts) -> str:
    row, zone = facts.concern, facts.zone
    parts = ["<h1>侵害未成年人案件强制报告登记表</h1>",
             f"<p class=sub>报告编号 {escape(row['id'].hex[:8].upper())}　当前状态：{STATE.get(row['status'], '')}</p>",
             "<table>",
             _row("报告单位（辖区）", f"县 {row['county_code']}　乡镇 {row['township_code']}"
                  + (f"　村 {row['village_code']}" if row["village_code"] else "")),
             _row("发现时间", _when(row["raised_at"], zone)),
             _row("发现途径", CONTACT_KIND.get(facts.contact_kind or "", "其他") + "中发现"),
             _row("儿童档案编号", str(row["child_id"])),
             _row("儿童姓名 / 性别 / 出生日期", "（按儿童档案填写）", raw=False),
             _row("家庭住址", "（按儿童档案填写）"),
             _row("监护人及联系电话", "（按儿童档案填写）"),
             _row("疑似侵害情形", CATEGORY.get(row["category"], row["category"])
                  + ("（属强制报告情形）" if row["mandatory_report"] else "")),
             _row("紧急程度", SEVERITY.get(row["severity"], row["severity"])),
             _row("情况描述", escape(facts.detail or "").replace("\n", "<br>"), raw=True),
             _row("接报人 / 接报时间", f"{row['acknowledged_by'] or ''}　{_when(row['acknowledged_at'], zone)}")]
    if facts.referrals:
        for referral in facts.referrals:
            accepted = (f"；{_when(referral['accepted_at'], zone)} 受理，编号 {referral['case_number']}"
                        if referral["accepted_at"] else "；尚未受理")
            parts.append(_row("移送机构", f"{referral['agency_name']}：{_when(referral['referred_at'], zone)} 移送"
                              + accepted))
    else:
        parts.append(_row("移送机构", "尚未移送"))
    notes = "<br>".join(f"{_day(day)}　{escape(text)}" for day, text in facts.notes) or "无"
    parts.append(_row("跟进记录", notes, raw=True))
    if row["status"] == "closed":
        closing = OUTCOME.get(row["outcome"] or "", "") + (f"：{facts.closing_note}" if facts.closing_note else "")
        parts.append(_row("结案情况", f"{_when(row['closed_at'], zone)}　{closing}"))
    parts.append("</table>")
    printed = _day(facts.printed_on) if facts.printed_on else ""
    parts.append(f"<div class=sign><span>报告人（签字）：＿＿＿＿＿＿</span><span>单位（盖章）：＿＿＿＿＿＿</span>"
                 f"<span>填表日期：{printed}</span></div>")
    return f"<!doctype html><html lang=zh-CN><meta charset=utf-8><style>{_STYLE}</style><body>{''.join(parts)}</body></html>"


def render(facts: FormFacts) -> bytes:
    from weasyprint import HTML  # heavy to import: only when a form is asked for
    return HTML(string=html(facts)).write_pdf()  # type: ignore[no-any-return]

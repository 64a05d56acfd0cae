"""The wording template of the work summary: sections, each a heading and a paragraph in
which {placeholders} stand for the figures. A county may replace the built-in wording with
its own (`PUT /v1/summary/template`); every placeholder must be one of PLACEHOLDERS.

{key} is a figure's value as the documents write it (a rate as 66.7%, an amount as 1080.00元), {key.previous} the
previous period's, {key.change} the change (+1, +3.2个百分点); {from}, {to} and {as_of} are
the period's days."""

from __future__ import annotations

import re
from typing import Any

from services.reports.domain import FIGURES
from services.reports.wording import change_text, figures, value_text

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

PLACEHOLDERS: tuple[str, ...] = ("from", "to", "as_of", *(
    f"{figure.key}{suffix}" for figure in FIGURES for suffix in ("", ".previous", ".change")))

DEFAULT_SECTIONS: tuple[tuple[str, str], ...] = (
    ("一、摸底建档", "截至{as_of}，在册留守儿童{children_registered}人（较上期{children_registered.change}），"
                 "应建档{expected}人，建档率{registration_rate}。期内新建档{newly_registered}人，结案{closed}人，"
                 "转入{transferred_in}人，转出{transferred_out}人。"),
    ("二、结对帮扶", "期内新结对{pairs_formed}对（较上期{pairs_formed.change}），终止{pairs_ended}对；"
                 "已结对儿童{children_paired}人，帮扶覆盖面{coverage}（较上期{coverage.change}），"
                 "重点儿童覆盖面{priority_coverage}。"),
    ("三、家访与联系", "期内开展家访{home_visits}次、谈心{talks}次、亲情电话/视频{parent_calls}次、书信{letters}次、"
                  "其他活动{other_contacts}次，合计{contacts_total}次（较上期{contacts_total.change}），"
                  "联系儿童{children_contacted}人，参与帮扶人员{caregivers_taking_part}人。"),
    ("四、职责落实", "期内到期职责{duties_due}项，按时完成{duties_on_time}项，逾期补记{duties_late}项，"
                 "逾期未完成{duties_overdue}项，按时完成率{on_time_rate}（较上期{on_time_rate.change}）。"),
    ("五、风险发现", "期内在联系中发现并登记问题{concerns_raised}个，其中强制报告情形{mandatory_reports}个。"),
    ("六、个案办理与关爱活动", "截至期末在办个案{cases_open}个，期内结案{cases_closed}个（较上期{cases_closed.change}）；"
                      "帮扶计划应复核{plan_reviews_due}项、按时复核{plan_reviews_on_time}项，个案应跟进回访{follow_ups_due}次、"
                      "按时跟进{follow_ups_on_time}次。期内开展集体活动{activities_held}场（较上期{activities_held.change}），"
                      "参与{activity_attendance}人次；结对人发出家书短信{family_notes}条（较上期{family_notes.change}）；"
                      "按资助项目资助儿童{aid_children}人，金额{aid_amount}（较上期{aid_amount.change}）。"),
)


def unknown_placeholders(text: str) -> list[str]:
    """The placeholders in `text` that are not in PLACEHOLDERS (an unbalanced brace counts)."""
    known = set(PLACEHOLDERS)
    found = [name for name in _PLACEHOLDER.findall(text) if name not in known]
    stripped = _PLACEHOLDER.sub("", text)
    return found + (["{" if "{" in stripped else "}"] if "{" in stripped or "}" in stripped else [])


def _values(body: dict[str, Any]) -> dict[str, str]:
    values = {"from": body["period"]["from"], "to": body["period"]["to"], "as_of": body["period"]["as_of"]}
    for key, figure in figures(body).items():
        values[key] = value_text(figure["value"], figure["kind"])
        values[f"{key}.previous"] = value_text(figure["previous"], figure["kind"])
        values[f"{key}.change"] = change_text(figure["change"], figure["kind"])
    return values


def render_sections(body: dict[str, Any], sections: list[tuple[str, str]] | tuple[tuple[str, str], ...]
                    ) -> list[dict[str, str]]:
    """The sections with their placeholders replaced by the summary's figures."""
    values = _values(body)

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)

    return [{"heading": fill(heading), "text": fill(text)} for heading, text in sections]

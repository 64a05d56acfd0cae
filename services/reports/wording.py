"""The words of the documents, shared by DOCX, XLSX and PDF: title, period line, the
paragraphs that quote the figures, and how a value is written."""

from __future__ import annotations

from typing import Any

from shared.auth import scope_prefix

TABLE_KEYS = ("children_registered", "registration_rate", "pairs_formed", "coverage", "home_visits", "talks",
              "parent_calls", "caregivers_taking_part", "duties_due", "duties_on_time", "duties_overdue",
              "concerns_raised")


def value_text(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    return str(value)


def change_text(change: Any, kind: str) -> str:
    if change is None:
        return "—"
    if kind == "rate":
        return f"{change * 100:+.1f}个百分点"
    return f"{change:+d}"


def township_text(township: dict[str, Any]) -> str:
    """A township as the tables print it: its name from the register, else its code."""
    return str(township.get("township_name") or township["township_code"])


def title(body: dict[str, Any], county_name: str) -> str:
    """The county's name (the configured one, else the register's); below the county the
    township's or village's name after it, or its code when the register has none."""
    scope = body["scope"]
    code = scope["code"]
    county = county_name or scope.get("county_name")
    if len(scope_prefix(code)) <= 6:
        place = county or code
    elif scope.get("name"):
        place = f"{county or ''}{scope['name']}"
    else:
        place = f"{county}（{code}）" if county else code
    school = f"（学校 {body['scope']['school_id']}）" if body["scope"]["school_id"] else ""
    return f"{place}{school}关爱留守儿童工作总结"


def period_line(body: dict[str, Any]) -> str:
    period, previous = body["period"], body["previous_period"]
    return (f"统计期间：{period['from']} 至 {period['to']}（数据截至 {period['as_of']}）；"
            f"对比期间：{previous['from']} 至 {previous['to']}。行政区划代码 {body['scope']['code']}。")


def figures(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {figure["key"]: figure for figure in body["figures"]}


def paragraphs(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(heading, paragraph) pairs, in the order a county's summary is written."""
    f = figures(body)

    def v(key: str) -> str:
        return value_text(f[key]["value"], f[key]["kind"])

    def c(key: str) -> str:
        return change_text(f[key]["change"], f[key]["kind"])

    return [
        ("一、摸底建档", f"截至{body['period']['as_of']}，在册留守儿童{v('children_registered')}人"
                     f"（较上期{c('children_registered')}），应建档{v('expected')}人，建档率{v('registration_rate')}。"
                     f"期内新建档{v('newly_registered')}人，结案{v('closed')}人，转入{v('transferred_in')}人，"
                     f"转出{v('transferred_out')}人。"),
        ("二、结对帮扶", f"期内新结对{v('pairs_formed')}对（较上期{c('pairs_formed')}），终止{v('pairs_ended')}对；"
                     f"已结对儿童{v('children_paired')}人，帮扶覆盖面{v('coverage')}（较上期{c('coverage')}），"
                     f"重点儿童覆盖面{v('priority_coverage')}。"),
        ("三、家访与联系", f"期内开展家访{v('home_visits')}次、谈心{v('talks')}次、亲情电话/视频{v('parent_calls')}次、"
                      f"书信{v('letters')}次、其他活动{v('other_contacts')}次，合计{v('contacts_total')}次"
                      f"（较上期{c('contacts_total')}），联系儿童{v('children_contacted')}人，"
                      f"参与帮扶人员{v('caregivers_taking_part')}人。"),
        ("四、职责落实", f"期内到期职责{v('duties_due')}项，按时完成{v('duties_on_time')}项，逾期补记{v('duties_late')}项，"
                     f"逾期未完成{v('duties_overdue')}项，按时完成率{v('on_time_rate')}（较上期{c('on_time_rate')}）。"),
        ("五、风险发现", f"期内在联系中发现并登记问题{v('concerns_raised')}个，其中强制报告情形{v('mandatory_reports')}个。"),
    ]

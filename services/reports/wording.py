"""The words of the documents, shared by DOCX, XLSX and PDF: title, period line, the
paragraphs that quote the figures, and how a value is written."""

from __future__ import annotations

from typing import Any

from shared.auth import scope_prefix

TABLE_KEYS = ("children_registered", "registration_rate", "pairs_formed", "coverage", "home_visits", "talks",
              "parent_calls", "caregivers_taking_part", "duties_due", "duties_on_time", "duties_overdue",
              "concerns_raised")
# The casework figures by township (附表三): cases, activities, plans, follow-ups, notes, aid.
CASEWORK_KEYS = ("cases_open", "cases_closed", "activities_held", "activity_attendance", "plan_reviews_due",
                 "plan_reviews_on_time", "follow_ups_due", "follow_ups_on_time", "family_notes", "aid_children",
                 "aid_amount")

CASE_STATES = {"raised": "已登记待受理", "acknowledged": "已受理", "referred": "已转介", "accepted": "部门已接收",
               "following_up": "跟进中", "closed": "已结案"}
DUTY_KINDS = {"plan_review": "帮扶计划复核", "follow_up": "个案跟进回访", "home_visit": "家访", "talk": "谈心",
              "parent_call": "亲情电话", "letter": "书信", "guardian_talk": "与监护人谈心"}


def value_text(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "amount":
        return f"{value:.2f}元"
    return str(value)


def change_text(change: Any, kind: str) -> str:
    if change is None:
        return "—"
    if kind == "rate":
        return f"{change * 100:+.1f}个百分点"
    if kind == "amount":
        return f"{change:+.2f}元"
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
    """(heading, paragraph) pairs, in the order a county's summary is written: the county's
    template, filled in by the api (`body["paragraphs"]`)."""
    return [(section["heading"], section["text"]) for section in body["paragraphs"]]


def cell_text(value: Any) -> str:
    """A cell of the casework breakdowns as text: amounts with their two decimals."""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def programme_text(aid: dict[str, Any]) -> str:
    """An aid programme by its name; by its id's first eight characters when no event
    carried the name (aid recorded before SupportRecorded carried it)."""
    return str(aid.get("programme_name") or f"资助项目 {str(aid['programme_id'])[:8]}")


def casework_tables(body: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...], list[tuple[Any, ...]]]]:
    """The breakdowns of the casework figures for the whole scope in the period, as
    (heading, definition, column names, rows): cases by state at the period's end,
    activities and attendance by type, duties of casework by kind, aid by programme.
    The documents print them after the townships' tables, each with its definition."""
    attendance = body.get("activity_attendance_by_type", {})
    type_names = body.get("activity_type_names", {})
    duties = body.get("duties_by_kind", {})
    return [
        ("个案办理情况", "期末登记在案的问题个案按期末所处办理状态统计，状态以统计日已知的为准",
         ("办理状态", "个案数"),
         [(CASE_STATES.get(state, state), count) for state, count in body.get("cases_by_state", {}).items()]),
        ("集体活动分类", "期内举办的集体活动按活动类型统计场次和参与人次，类型按县里设定的名称",
         ("活动类型", "场次", "参与人次"),
         [(type_names.get(kind, kind), count, attendance.get(kind, 0))
          for kind, count in body.get("activities_by_type", {}).items()]),
        ("帮扶计划与个案跟进", "到期日在期内的帮扶计划复核和个案跟进回访：应完成、按时、逾期补记、逾期未完成",
         ("职责", "应完成", "按时完成", "逾期补记", "逾期未完成"),
         [(DUTY_KINDS.get(kind, kind), *(duties[kind][key] for key in ("due", "on_time", "late", "overdue")))
          for kind in ("plan_review", "follow_up") if kind in duties]),
        ("分资助项目资助情况", "期内按各资助项目发放名单资助的儿童人数、人次和金额，金额以元计、实物按折价",
         ("资助项目", "儿童", "人次", "金额（元）"),
         [(programme_text(aid), aid["children"], aid["records"], round(aid["amount_fen"] / 100, 2))
          for aid in body.get("aid_by_programme", [])]),
    ]

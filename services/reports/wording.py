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
    """(heading, paragraph) pairs, in the order a county's summary is written: the county's
    template, filled in by the api (`body["paragraphs"]`)."""
    return [(section["heading"], section["text"]) for section in body["paragraphs"]]

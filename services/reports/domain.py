"""Pure rules of the reports: periods and their predecessors, the figures of the work
summary with their definitions, and how rates follow from counts. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, Mapping
from zoneinfo import ZoneInfo

from shared.rules import RuleViolation


class ReportRefused(RuleViolation):
    """Bad period or scope: answered 422 naming the query field and the reason (by the one
    handler every RuleViolation goes through, shared/problems.py)."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive: a county's periods are quoted with their last day

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period before, of the same length; whole months compare with as many whole
        months before (March with February, a year with the year before)."""
        if self.start.day == 1 and (self.end + timedelta(days=1)).day == 1:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
            first = _add_months(self.start, -months)
            return Period(first, self.start - timedelta(days=1))
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Window:
    """What a query needs: the period as instants [start_at, end_at), the as-of date and
    the instant before which a fact must have been recorded to count as known then."""

    period: Period
    as_of: date
    start_at: datetime
    end_at: datetime
    known_before: datetime

    @classmethod
    def of(cls, period: Period, as_of: date, zone: ZoneInfo) -> "Window":
        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(), tzinfo=zone)

        return cls(period, as_of, midnight(period.start), midnight(period.end + timedelta(days=1)),
                   midnight(as_of + timedelta(days=1)))


def check_period(start: date, end: date, as_of: date | None, *, today: date, first_day: date | None) -> tuple[Period, date]:
    """The period and the as-of date, or ReportRefused. `as_of` defaults to the period's
    last day, or today while the period runs. Dates before the first recorded fact, or
    after today, have no figures to give."""
    if end < start:
        raise ReportRefused("query.to", "on or after from")
    if start > today:
        raise ReportRefused("query.from", "in the future")
    if as_of is None:
        as_of = min(end, today)
    if as_of > today:
        raise ReportRefused("query.as_of", "in the future")
    if as_of < start:
        raise ReportRefused("query.as_of", "on or after from")
    if first_day is None:
        raise ReportRefused("query.from", "no events have been recorded yet")
    if end < first_day:
        raise ReportRefused("query.to", f"before the first recorded event ({first_day.isoformat()})")
    return Period(start, end), as_of


Kind = Literal["count", "rate", "amount"]  # amount: yuan (元), from the fen the events carry


@dataclass(frozen=True)
class Figure:
    key: str
    label: str      # as the county's documents say it
    kind: Kind
    definition: str


FIGURES: tuple[Figure, ...] = (
    Figure("children_registered", "在册儿童", "count",
           "截至统计日档案未结案（在册或已转入）的儿童人数，按其当日所在乡镇、学校统计"),
    Figure("newly_registered", "新建档", "count", "期内新建档案的儿童人数"),
    Figure("closed", "结案", "count", "期内结案（父母返乡、超龄、迁出等）的档案数"),
    Figure("transferred_in", "转入", "count", "期内从范围外转入的儿童人数"),
    Figure("transferred_out", "转出", "count", "期内转出到范围外的儿童人数"),
    Figure("expected", "应建档", "count", "截至统计日县里设定的应建档人数（乡镇或学校的摸底数）"),
    Figure("registration_rate", "建档率", "rate", "在册儿童 ÷ 应建档"),
    Figure("pairs_formed", "新结对", "count", "期内开始的结对（含主帮扶人和协助帮扶人）"),
    Figure("pairs_ended", "结对终止", "count", "期内终止的结对"),
    Figure("children_paired", "已结对儿童", "count", "统计日有正在进行的结对的在册儿童人数"),
    Figure("coverage", "帮扶覆盖面", "rate", "已结对儿童 ÷ 在册儿童"),
    Figure("priority_coverage", "重点儿童覆盖面", "rate", "已结对的重点儿童 ÷ 在册重点儿童"),
    Figure("home_visits", "家访", "count", "期内记录的家访次数"),
    Figure("talks", "谈心", "count", "期内记录的谈心次数"),
    Figure("parent_calls", "亲情电话/视频", "count", "期内记录的与父母通话、视频次数"),
    Figure("letters", "书信", "count", "期内记录的书信次数"),
    Figure("other_contacts", "其他活动", "count", "期内记录的体检、活动、家长学校、与监护人谈心等次数"),
    Figure("contacts_total", "联系合计", "count", "期内记录的各类联系次数之和"),
    Figure("children_contacted", "受访儿童", "count", "期内至少被联系一次的儿童人数"),
    Figure("caregivers_taking_part", "参与帮扶人员", "count", "期内至少记录一次联系的帮扶人员人数"),
    Figure("duties_due", "应履行职责", "count", "到期日在期内、统计日未取消的职责（家访、谈心、亲情电话、书信）"),
    Figure("duties_on_time", "按时完成", "count", "到期日前（含当日）已记录完成的职责"),
    Figure("duties_late", "逾期补记", "count", "到期日后才记录完成的职责（联系在期限内，补记在后）"),
    Figure("duties_overdue", "逾期未完成", "count", "统计日已过到期日仍未完成的职责"),
    Figure("on_time_rate", "按时完成率", "rate", "按时完成 ÷ 应履行职责"),
    Figure("concerns_raised", "发现问题", "count", "期内联系中发现并登记的问题数"),
    Figure("mandatory_reports", "强制报告", "count", "其中属于强制报告情形的问题数"),
    Figure("activities_held", "开展活动", "count", "期内举办的集体活动场次（安全教育、家长学校、之家活动等，每场记一次）"),
    Figure("activity_attendance", "活动参与人次", "count", "期内集体活动的参与人次（在册儿童、其他儿童、家长和其他人员）"),
    Figure("family_notes", "家书短信", "count", "期内结对人写给监护人或外出父母、已发出的家书短信条数（仅发给同意接收的家人）"),
    # Casework (个案、计划、资助): the totals of the breakdowns the summary lists beside the
    # figures (cases by state, duties by kind, aid by programme), by township and compared.
    Figure("cases_open", "在办个案", "count", "截至期末已登记、期末尚未结案的问题个案数（按统计日已知的办理状态）"),
    Figure("cases_closed", "期内结案个案", "count", "期内办结（状态为已结案）的问题个案数"),
    Figure("plan_reviews_due", "应复核帮扶计划", "count", "复核日在期内、统计日未取消的帮扶计划复核"),
    Figure("plan_reviews_on_time", "按时复核计划", "count", "复核日前（含当日）已记录进展复核的帮扶计划复核"),
    Figure("follow_ups_due", "应跟进回访", "count", "到期日在期内、统计日未取消的个案跟进回访"),
    Figure("follow_ups_on_time", "按时跟进回访", "count", "到期日前（含当日）已记录完成的个案跟进回访"),
    Figure("aid_children", "受资助儿童", "count", "期内按资助项目发放名单得到资助或慰问的儿童人数"),
    Figure("aid_amount", "资助金额", "amount", "期内按资助项目发放的资金和实物折价合计（元）"),
)
FIGURE_KEYS = tuple(figure.key for figure in FIGURES)

_OTHER_CONTACTS = ("health_check", "activity", "guardian_training", "guardian_talk")


def _share(part: Any, whole: Any) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


def figures_from_counts(counts: Mapping[str, Any]) -> dict[str, Any]:
    """Every figure of FIGURES from the counts the queries return (missing ones are 0,
    except the expected count, which is None where none was set)."""
    c = {key: counts.get(key) or 0 for key in (
        "children_registered", "newly_registered", "closed", "transferred_in", "transferred_out", "pairs_formed",
        "pairs_ended", "children_paired", "priority_registered", "priority_paired", "home_visit", "talk",
        "parent_call", "parent_video", "letter", *_OTHER_CONTACTS, "children_contacted", "caregivers_taking_part",
        "duties_due", "duties_on_time", "duties_late", "duties_overdue", "concerns_raised", "mandatory_reports",
        "activities_held", "activity_attendance", "family_notes", "cases_open", "cases_closed", "plan_reviews_due",
        "plan_reviews_on_time", "follow_ups_due", "follow_ups_on_time", "aid_children", "aid_amount_fen")}
    expected = counts.get("expected")
    contacts = {"home_visits": c["home_visit"], "talks": c["talk"], "parent_calls": c["parent_call"] + c["parent_video"],
                "letters": c["letter"], "other_contacts": sum(c[kind] for kind in _OTHER_CONTACTS)}
    return {
        **{key: c[key] for key in ("children_registered", "newly_registered", "closed", "transferred_in",
                                   "transferred_out")},
        "expected": expected,
        "registration_rate": _share(c["children_registered"], expected),
        "pairs_formed": c["pairs_formed"], "pairs_ended": c["pairs_ended"], "children_paired": c["children_paired"],
        "coverage": _share(c["children_paired"], c["children_registered"]),
        "priority_coverage": _share(c["priority_paired"], c["priority_registered"]),
        **contacts, "contacts_total": sum(contacts.values()),
        "children_contacted": c["children_contacted"], "caregivers_taking_part": c["caregivers_taking_part"],
        **{key: c[key] for key in ("duties_due", "duties_on_time", "duties_late", "duties_overdue")},
        "on_time_rate": _share(c["duties_on_time"], c["duties_due"]),
        "concerns_raised": c["concerns_raised"], "mandatory_reports": c["mandatory_reports"],
        "activities_held": c["activities_held"], "activity_attendance": c["activity_attendance"],
        "family_notes": c["family_notes"],
        **{key: c[key] for key in ("cases_open", "cases_closed", "plan_reviews_due", "plan_reviews_on_time",
                                   "follow_ups_due", "follow_ups_on_time", "aid_children")},
        "aid_amount": round(c["aid_amount_fen"] / 100, 2),
    }


def change(value: Any, previous: Any) -> Any:
    """The difference from the previous period (rates in points of the share)."""
    if value is None or previous is None:
        return None
    return round(value - previous, 4)

"""The ledgers (台账) a county keeps for inspection: what each lists, its columns, and its
rows composed from the read model's facts and the names the owners give when it is printed.

Left out of every ledger: what the events never carry and the owners keep sensitive
(national ID, addresses, sensitive categories, a concern's nature, caregivers' phones).
The contact card's phones are printed as the registry gives them: masked, unless the staff
member who asked may read them in clear and stated why (see owner_names.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

import asyncpg

GENDER = {"male": "男", "female": "女"}
LEFT_BEHIND = {"both_parents_away": "父母均外出", "one_parent_away_other_unable": "一方外出另一方无监护能力",
               "one_parent_away_other_able": "单亲外出", "not_left_behind": "非留守"}
STATUS = {"active": "在册", "transferred": "转入", "closed": "结案"}
ROLE = {"lead": "主帮扶人", "helper": "协助帮扶人"}
END_REASON = {"child_closed": "儿童结案", "child_transferred": "儿童转出", "caregiver_inactive": "帮扶人停用",
              "reassigned": "调整结对", "capacity_change": "帮扶人数调整", "other": "其他"}
CONTACT_KIND = {"home_visit": "家访", "talk": "谈心", "parent_call": "亲情电话", "parent_video": "亲情视频",
                "letter": "书信", "health_check": "健康检查", "activity": "活动", "guardian_training": "监护人培训",
                "guardian_talk": "与监护人谈心"}
SEVERITY = {"low": "一般", "medium": "较重", "high": "严重", "urgent": "紧急"}
LEVEL = {"caregiver": "帮扶人", "school": "学校", "township": "乡镇", "county": "县级"}
# What a ledger prints for an activity type the county's vocabulary (visits) did not name
# when the ledger was made: the defaults' names, else the code.
ACTIVITY = {"safety_education": "安全教育", "psychological_counselling": "心理辅导", "guardian_school": "家长学校",
            "class_meeting": "主题班会", "summer_camp": "夏令营", "home_activity": "之家活动",
            "festival_care": "节日关爱", "tutoring": "学业辅导", "other": "其他"}
SUPPORT_KIND = {"financial_aid": "资金资助", "in_kind": "物资慰问"}


@dataclass(frozen=True)
class Ledger:
    kind: str
    title: str  # 「…台账」 after the scope's name
    columns: tuple[tuple[str, str], ...]  # (key, heading)
    children_named: bool  # whose rows carry a child_id the registry names
    caregivers_named: bool
    contact_card: bool = False


_PLACE = (("township", "乡镇"), ("village", "村（社区）"), ("school", "学校"))
LEDGERS = {ledger.kind: ledger for ledger in (
    Ledger("children", "留守儿童一人一档台账",
           (("name", "姓名"), ("gender", "性别"), ("birth_date", "出生日期"), *_PLACE, ("grade", "年级班级"),
            ("left_behind_type", "留守类型"), ("priority", "重点儿童"), ("guardians", "监护人（关系 姓名 电话）"),
            ("parents", "父母（关系 姓名 务工地 电话）"), ("caregivers", "帮扶人"), ("status", "状态")),
           children_named=True, caregivers_named=True, contact_card=True),
    Ledger("pairings", "结对帮扶名册",
           (("child", "儿童"), *_PLACE, ("caregiver", "帮扶人"), ("role", "帮扶角色"), ("priority", "重点儿童"),
            ("started_on", "结对日期"), ("ended_on", "终止日期"), ("end_reason", "终止原因")),
           children_named=True, caregivers_named=True),
    Ledger("contacts", "家访谈心亲情电话记录",
           (("occurred_at", "时间"), ("kind", "方式"), ("child", "儿童"), ("caregiver", "帮扶人"),
            ("township", "乡镇"), ("village", "村（社区）"), ("concern_raised", "发现问题")),
           children_named=True, caregivers_named=True),
    # Group activities held and aid or gifts given to one child (pairing's support records),
    # by day: an activity row has the counts, an aid row the child, the kind and the value.
    Ledger("support", "关爱慰问资助台账",
           (("held_on", "日期"), ("activity_type", "活动类型/资助方式"), ("child", "受助儿童"), ("amount", "金额（元）"),
            ("township", "乡镇"), ("school", "学校"),
            ("registered_children", "在册儿童人次"), ("other_children", "其他儿童人次"),
            ("family_members", "家长人次"), ("others", "其他人次"), ("repeated", "同期重复资助"),
            ("programme", "资助项目")),
           children_named=True, caregivers_named=False),
    Ledger("concerns", "强制报告登记台账",
           (("raised_at", "发现时间"), ("child", "儿童"), ("township", "乡镇"), ("village", "村（社区）"),
            ("severity", "紧急程度"), ("mandatory_report", "强制报告"), ("escalation_level", "上报层级"),
            ("acknowledged_at", "受理时间")),
           children_named=True, caregivers_named=False),
)}


@dataclass
class Names:
    """What the owners gave for this ledger, and the division register's names; the school
    register's names (registry) and the county's activity types (visits) as named when the
    ledger is made."""
    children: dict[str, dict[str, Any]]
    caregivers: dict[str, str]
    places: dict[str, str]
    schools: dict[str, str] = field(default_factory=dict)
    activity_types: dict[str, str] = field(default_factory=dict)
    programmes: dict[str, str] = field(default_factory=dict)  # pairing's aid programmes (资助项目)


def ids_to_name(ledger: Ledger, rows: list[asyncpg.Record]) -> tuple[list[str], list[str]]:
    children = sorted({str(r["child_id"]) for r in rows if r["child_id"]}) if ledger.children_named else []
    caregivers: set[str] = set()
    if ledger.caregivers_named:
        for r in rows:
            caregivers.update(str(c) for c in (r["caregivers"] or ()) if c) if ledger.kind == "children" \
                else caregivers.add(str(r["caregiver_id"]))
    return children, sorted(caregivers)


def schools_to_name(rows: list[asyncpg.Record], school_scope: str | None) -> list[str]:
    """The schools the rows and the heading print: those of rows that carry a school_id (a
    child's school is named with the child, see compose), and the scope's."""
    schools = {r["school_id"] for r in rows if "school_id" in r.keys() and r["school_id"]}
    return sorted(schools | ({school_scope} if school_scope else set()))


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def _people(people: list[dict[str, Any]], *fields: str) -> str:
    return "；".join(" ".join(str(p[f]) for f in fields if p.get(f)) for p in people)


def compose(ledger: Ledger, rows: list[asyncpg.Record], names: Names, zone: ZoneInfo) -> list[dict[str, Any]]:
    """One item per row, with every column's text (and the ids, for the console to link)."""
    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else None

    def place(row: asyncpg.Record, child: dict[str, Any] | None) -> dict[str, Any]:
        village = row["village_code"]
        school = row["school_id"] if "school_id" in row.keys() else (child or {}).get("school_id")
        return {"township": names.places.get(row["township_code"]) or row["township_code"],
                "village": (names.places.get(village) or village) if village else None,
                "school": ((child or {}).get("school_name") if child and child.get("school_id") == school else None)
                or names.schools.get(school or "") or school}

    items = []
    for row in rows:
        child = names.children.get(str(row["child_id"])) if ledger.children_named and row["child_id"] else None
        item: dict[str, Any] = {key: None for key, _ in ledger.columns}
        item.update(_BUILD[ledger.kind](row, child, names, local))
        item.update({k: v for k, v in place(row, child).items() if k in item})
        if "child" in item:
            item["child"] = child["name"] if child else None
        if ledger.children_named and row["child_id"]:
            item["child_id"] = str(row["child_id"])
        items.append(item)
    return items


def _children(row: asyncpg.Record, child: dict[str, Any] | None, names: Names, local: Callable) -> dict[str, Any]:
    card = child or {}
    grade = " ".join(x for x in (card.get("grade"), card.get("class_name")) if x)
    return {"name": card.get("name"), "gender": GENDER.get(card.get("gender") or "", card.get("gender")),
            "birth_date": card.get("birth_date"), "grade": grade or None,
            "left_behind_type": LEFT_BEHIND.get(row["left_behind_type"] or "", row["left_behind_type"]),
            "priority": _yes(row["priority"]),
            "guardians": _people(card.get("guardians") or [], "relation", "name", "phone") or None,
            "parents": _people(card.get("parents") or [], "relation", "name", "work_place", "phone") or None,
            "caregivers": "、".join(names.caregivers.get(str(c), "") or "—" for c in (row["caregivers"] or ())) or None,
            "status": STATUS.get(row["status"], row["status"])}


def _pairings(row: asyncpg.Record, child: dict[str, Any] | None, names: Names, local: Callable) -> dict[str, Any]:
    ended: date | None = row["ended_on"]
    return {"caregiver": names.caregivers.get(str(row["caregiver_id"])), "role": ROLE.get(row["role"], row["role"]),
            "priority": _yes(row["priority"]), "started_on": row["started_on"].isoformat(),
            "ended_on": ended.isoformat() if ended else None,
            "end_reason": END_REASON.get(row["end_reason"] or "", row["end_reason"]),
            "pairing_id": str(row["pairing_id"])}


def _contacts(row: asyncpg.Record, child: dict[str, Any] | None, names: Names, local: Callable) -> dict[str, Any]:
    return {"occurred_at": local(row["occurred_at"]), "kind": CONTACT_KIND.get(row["kind"], row["kind"]),
            "caregiver": names.caregivers.get(str(row["caregiver_id"])), "concern_raised": _yes(row["concern_raised"]),
            "contact_id": str(row["contact_id"])}


def _concerns(row: asyncpg.Record, child: dict[str, Any] | None, names: Names, local: Callable) -> dict[str, Any]:
    return {"raised_at": local(row["raised_at"]), "severity": SEVERITY.get(row["severity"], row["severity"]),
            "mandatory_report": _yes(row["mandatory_report"]),
            "escalation_level": LEVEL.get(row["escalation_level"] or "", row["escalation_level"]),
            "acknowledged_at": local(row["acknowledged_at"]), "concern_id": str(row["concern_id"])}


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _programme(row: asyncpg.Record, names: Names) -> str | None:
    programme = row["programme_id"]
    return None if programme is None else names.programmes.get(str(programme), "资助项目")


def _support(row: asyncpg.Record, child: dict[str, Any] | None, names: Names, local: Callable) -> dict[str, Any]:
    if row["entry"] == "support":
        # A gift in kind of unknown value is recorded with 0: printed as no amount.
        return {"held_on": row["on_day"].isoformat(), "activity_type": SUPPORT_KIND.get(row["support_kind"],
                                                                                          row["support_kind"]),
                "amount": _yuan(row["amount_fen"]) if row["amount_fen"] else None,
                "repeated": _yes(row["duplicate_of"] is not None), "support_id": str(row["entry_id"]),
                "programme": _programme(row, names)}
    code = row["activity_type"]
    return {"held_on": row["on_day"].isoformat(),
            "activity_type": names.activity_types.get(code) or ACTIVITY.get(code, code),
            "registered_children": row["registered_children"], "other_children": row["other_children"],
            "family_members": row["family_members"], "others": row["others"],
            "activity_id": str(row["entry_id"])}


_BUILD = {"children": _children, "pairings": _pairings, "contacts": _contacts, "concerns": _concerns,
          "support": _support}

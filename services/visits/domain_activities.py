"""Group activities, as pure rules: who may be listed as attending, and the event an
activity publishes. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping
from uuid import UUID

from shared.contracts import ActivityHeld, Jurisdiction
from shared.rules import RuleViolation

HOME_ACTIVITY = "home_activity"  # the type of a session at a children's home (之家活动)


@dataclass(frozen=True)
class NewActivity:
    id: UUID
    activity_type: str
    held_on: date
    jurisdiction: Jurisdiction
    child_ids: tuple[UUID, ...]
    school_id: str | None = None
    home_id: UUID | None = None
    other_children: int = 0
    guardians: int = 0
    others: int = 0


def check(activity: NewActivity, *, today: date, active_types: frozenset[str],
          children: Mapping[UUID, Mapping[str, Any]], scope_prefix: str, school_scope: str | None) -> None:
    """Refuses (422, naming the field) what cannot be recorded: a date ahead, a type the
    county does not use, and attendees who are not active children in the caller's scope
    (for a school's staff: pupils of that school)."""
    if activity.held_on > today:
        raise RuleViolation("held_on", "is in the future")
    if activity.activity_type not in active_types:
        raise RuleViolation("activity_type", "is not an activity type this county uses")
    seen: set[UUID] = set()
    for index, child_id in enumerate(activity.child_ids):
        field = f"child_ids[{index}]"
        if child_id in seen:
            raise RuleViolation(field, "is listed twice")
        seen.add(child_id)
        child = children.get(child_id)
        in_scope = child is not None and (child["village_code"] or child["township_code"]).startswith(scope_prefix)
        if not in_scope or (school_scope is not None and child["school_id"] != school_scope):
            raise RuleViolation(field, "is not a child of the registry in your jurisdiction")
        if child["status"] == "closed":
            raise RuleViolation(field, "the child's record is closed")
    if not activity.child_ids and not (activity.other_children or activity.guardians or activity.others):
        raise RuleViolation("child_ids", "an activity has someone attending: list children or give counts")


def held(activity: NewActivity) -> ActivityHeld:
    return ActivityHeld(activity_id=activity.id, activity_type=activity.activity_type, held_on=activity.held_on,
                        jurisdiction=activity.jurisdiction, school_id=activity.school_id, home_id=activity.home_id,
                        registered_children=len(activity.child_ids), other_children=activity.other_children,
                        family_members=activity.guardians, others=activity.others)

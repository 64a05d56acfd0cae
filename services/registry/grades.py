"""The end-of-year grade promotion, pure: each grade the schools write and the next one.
Grades are the words the sheets use (三年级, 初二, 3年级, 大班); a grade this table does not
know is left as it is, and the last grade of junior middle school (九年级/初三) and of
senior middle school (高三) are not promoted: those children leave the school."""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from services.registry.domain import age_band
from shared.contracts import Jurisdiction
from shared.contracts.events import ChildUpdated

_NUMERALS = "一二三四五六七八九"
_SEQUENCE = (["小班", "中班", "大班"] + [f"{n}年级" for n in _NUMERALS])
NEXT_GRADE: dict[str, str] = {grade: following for grade, following in zip(_SEQUENCE, _SEQUENCE[1:])}
NEXT_GRADE.update({f"{i}年级": f"{i + 1}年级" for i in range(1, 9)})
NEXT_GRADE.update({"初一": "初二", "初二": "初三", "高一": "高二", "高二": "高三"})
LAST_GRADES = ("九年级", "9年级", "初三", "高三")


def promotion_events(rows: list[Mapping[str, Any]], today: date) -> list[ChildUpdated]:
    """One ChildUpdated per promoted record (`rows`: the records as written, with their new version)."""
    return [ChildUpdated(
        child_id=row["id"], school_id=row["school_id"], categories=tuple(row["categories"]),
        jurisdiction=Jurisdiction(county_code=row["county_code"], township_code=row["township_code"],
                                  village_code=row["village_code"]),
        left_behind_type=row["left_behind_type"], priority=row["priority"],
        age_band=age_band(row["birth_date"], today), status=row["status"], record_version=row["version"])
        for row in rows]

"""The assessment's score, pure: shares of duties done on time, done late and not left
overdue, and coverage, weighted by the county's weights; a ranking, best first."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class Weights:
    on_time: float = 50.0
    late: float = 10.0
    overdue: float = 20.0
    coverage: float = 20.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def score(*, due: int, on_time: int, late: int, overdue: int, coverage: float | None, weights: Weights) -> float | None:
    """0–100: the weighted mean of the on-time share, the late share (partial credit), the
    share not left overdue and coverage. A part with nothing to measure (no duty due, no
    coverage for a caregiver) drops out with its weight, so nobody gains or loses by it."""
    parts = []
    if due:
        parts += [(weights.on_time, on_time / due), (weights.late, late / due), (weights.overdue, 1 - overdue / due)]
    if coverage is not None:
        parts.append((weights.coverage, coverage))
    total_weight = sum(weight for weight, _ in parts)
    if not total_weight:
        return None
    return round(100 * sum(weight * share for weight, share in parts) / total_weight, 1)


def rank(rows: Sequence[Mapping[str, Any]], coverage: Mapping[str, tuple[int, int]],
         weights: Weights) -> list[dict[str, Any]]:
    """rows: key, due, on_time, late, overdue; coverage: key → (paired, registered)."""
    keys = {str(row["key"]) for row in rows} | set(coverage)
    by_key = {str(row["key"]): row for row in rows}
    items = []
    for key in keys:
        row = by_key.get(key, {})
        due, on_time, late, overdue = (int(row.get(name) or 0) for name in ("due", "on_time", "late", "overdue"))
        paired, registered = coverage.get(key, (0, 0))
        share = _share(paired, registered) if key in coverage else None
        items.append({"key": key, "duties_due": due, "done_on_time": on_time, "done_late": late, "overdue": overdue,
                      "on_time_rate": None if not due else round(on_time / due, 4),
                      "children_registered": registered if key in coverage else None,
                      "children_paired": paired if key in coverage else None,
                      "coverage": None if share is None else round(share, 4),
                      "score": score(due=due, on_time=on_time, late=late, overdue=overdue, coverage=share,
                                     weights=weights)})
    items.sort(key=lambda item: (item["score"] is None, -(item["score"] or 0), item["key"]))
    for position, item in enumerate(items, start=1):
        item["rank"] = position if item["score"] is not None else None
    return items

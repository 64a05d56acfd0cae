"""Development tokens for tests, signed like `shouhu token` signs them."""

from __future__ import annotations

from shared.auth import issue_dev_token
from shared.settings import AuthSettings

COUNTY = "330102000000"
TOWNSHIP = "330102001000"
VILLAGE = "330102001051"  # 清波门社区 of 清波街道, 上城区, 杭州
OTHER_COUNTY = "330103000000"


def make_token(*, roles: list[str], jurisdiction: str, subject: str = "tester",
               permissions: list[str] | None = None, caregiver_id: str | None = None,
               school_id: str | None = None) -> str:
    return issue_dev_token(AuthSettings(), subject=subject, roles=roles, jurisdiction=jurisdiction,
                           permissions=permissions, caregiver_id=caregiver_id, school_id=school_id)


def bearer(**kwargs: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(**kwargs)}"}  # type: ignore[arg-type]


def staff(jurisdiction: str = COUNTY) -> dict[str, str]:
    return bearer(roles=["county_staff"], jurisdiction=jurisdiction)

"""Capacity per caregiver kind, set per county (issue 4 §1): an admin table behind an API."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import ConfigDict, Field

from services.pairing import commands, domain, store
from services.pairing.api_models import CapacityDefaults
from shared.auth import Principal
from shared.clean_text import CleanInput
from shared.contracts.events import CaregiverKind
from shared.routes import Caller, require_staff, transaction
from shared.rules import Refusal

router = APIRouter(prefix="/v1", tags=["caregivers"])

_CODE12 = r"^\d{12}$"


class CapacityDefaultsIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    capacities: dict[CaregiverKind, Annotated[int, Field(ge=0, le=50)]]


def _require_county_admin(principal: Principal, county_code: str) -> None:
    if not principal.has_role("admin", "county_staff"):
        raise Refusal(403, "forbidden", "admin or county staff only")
    if not re.fullmatch(_CODE12, county_code) or not principal.covers(county_code):
        raise Refusal(404, "not_found", "no such county in your jurisdiction")


@router.get("/capacity-defaults/{county_code}", response_model=CapacityDefaults)
async def read_capacity_defaults(county_code: str, request: Request,
                                 principal: Caller) -> dict[str, Any]:
    require_staff(principal)
    if not principal.covers(county_code):
        raise Refusal(404, "not_found", "no such county in your jurisdiction")
    async with request.app.state.pool.acquire() as conn:
        county = await store.county_capacity_defaults(conn, county_code)
    return {"county_code": county_code,
            "capacities": {kind: county.get(kind, default) for kind, default in domain.DEFAULT_CAPACITY.items()},
            "set_by_county": sorted(county)}


@router.put("/capacity-defaults/{county_code}", response_model=CapacityDefaults)
async def put_capacity_defaults(county_code: str, body: CapacityDefaultsIn, request: Request,
                                principal: Caller) -> dict[str, Any]:
    """Sets the county's capacity per kind. Caregivers following the default get a
    CaregiverUpdated with their new capacity; pairings already made are kept."""
    _require_county_admin(principal, county_code)
    async with transaction(request) as conn:
        await store.put_capacity_defaults(conn, county_code, body.capacities, principal.subject)
        for row in await store.bump_caregivers_using_default(conn, county_code, list(body.capacities)):
            await commands.caregiver_event(conn, row, enrolled=False)
        county = await store.county_capacity_defaults(conn, county_code)
    return {"county_code": county_code,
            "capacities": {kind: county.get(kind, default) for kind, default in domain.DEFAULT_CAPACITY.items()},
            "set_by_county": sorted(county)}

"""Pairing routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from services.pairing import store
from shared.auth import Principal, require_principal
from shared.contracts import Jurisdiction

router = APIRouter(prefix="/v1", tags=["children"])

STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")


class PairableChildOut(BaseModel):
    id: UUID
    jurisdiction: Jurisdiction
    school_id: str | None
    priority: bool
    age_band: str
    status: str
    record_version: int


@router.get("/children/{child_id}", response_model=PairableChildOut)
async def read_pairable_child(child_id: UUID, request: Request,
                              principal: Annotated[Principal, Depends(require_principal)]) -> PairableChildOut:
    """The child as pairing knows it (from the registry's events)."""
    if not principal.has_role(*STAFF_ROLES):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "staff roles only")
    async with request.app.state.pool.acquire() as conn:
        row = await store.get_child_in_scope(conn, child_id, principal.scope_prefix)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such child")
    return PairableChildOut(
        id=row["id"],
        jurisdiction=Jurisdiction(county_code=row["county_code"], township_code=row["township_code"],
                                  village_code=row["village_code"]),
        school_id=row["school_id"], priority=row["priority"], age_band=row["age_band"],
        status=row["status"], record_version=row["record_version"],
    )

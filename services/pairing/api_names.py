"""Caregivers' names in a batch, for whoever composes a work list or a message at the moment
it is shown or sent (notify's staff escalations: "王老师负责的李思雨的家访已逾期"; the console's
lists). Names never travel in events; they are asked of pairing, which owns them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from services.pairing import store
from services.pairing.encrypted_columns import CAREGIVER_CONTEXT
from shared.clean_text import CleanInput
from shared.routes import Caller, STAFF_ROLES, cipher_of
from shared.rules import Refusal

router = APIRouter(prefix="/v1", tags=["caregivers"])


class NamesIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    ids: list[UUID] = Field(min_length=1, max_length=500)


class CaregiverNames(BaseModel):
    names: dict[str, str] = Field(description="caregiver id → name, for the caregivers the caller may see")


@router.post("/caregivers/names", response_model=CaregiverNames)
async def caregiver_names(body: NamesIn, request: Request,
                          principal: Caller) -> dict[str, Any]:
    """The names of these caregivers for staff (in their jurisdiction; a school's staff, their
    school's) and for role `service` (notify, within its jurisdiction): the same caregivers
    `GET /v1/caregivers/{id}` shows them. Others are left out. A POST, so that names and ids
    stay out of URLs and caches."""
    if not principal.has_role("service", *STAFF_ROLES):
        raise Refusal(403, "forbidden", "staff roles or the notification service")
    async with request.app.state.pool.acquire() as conn:
        rows = await store.caregiver_names_in_scope(conn, list(dict.fromkeys(body.ids)), principal.scope_prefix,
                                                    principal.school_scope)
    field = cipher_of(request)
    return {"names": {str(row["id"]): field.decrypt(row["name_enc"], context=f"{CAREGIVER_CONTEXT}.name_enc:{row['id']}")
                      for row in rows if row["name_enc"]}}

"""Notify routes: the in-app inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

from services.notify import store
from shared.auth import Principal, require_principal

router = APIRouter(prefix="/v1", tags=["notifications"])

STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")


class NotificationOut(BaseModel):
    id: UUID
    source_event_id: UUID
    recipient_kind: str
    recipient_id: str
    channel: str
    template: str
    child_id: UUID
    status: str
    created_at: datetime


@router.get("/notifications", response_model=list[NotificationOut])
async def list_notifications(
    request: Request,
    principal: Annotated[Principal, Depends(require_principal)],
    caregiver_id: Annotated[UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    """A caregiver reads their own inbox; staff may read a caregiver's inbox in their scope."""
    if principal.has_role(*STAFF_ROLES):
        if caregiver_id is None:
            raise HTTPException(422, [{"field": "query.caregiver_id", "reason": "required for staff"}])
        recipient = str(caregiver_id)
    elif principal.has_role("caregiver") and principal.caregiver_id:
        recipient = principal.caregiver_id
        if caregiver_id is not None and str(caregiver_id) != recipient:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such inbox")
    else:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "no inbox for this role")
    async with request.app.state.pool.acquire() as conn:
        rows = await store.list_notifications(conn, recipient_kind="caregiver", recipient_id=recipient,
                                              scope_prefix=principal.scope_prefix, limit=limit)
    return [NotificationOut(**dict(row)) for row in rows]

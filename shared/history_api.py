"""`GET /v1/history/{record_kind}/{record_id}`: who changed a record, when, which fields — for
county staff and administrators, within their jurisdiction. Every service mounts it
(`shared.http.create_service_app`); the record kinds are those its migrations attach the
change-history trigger to (child, pairing, caregiver, contact, concern, policy, recipient…).
Values are never part of the history (a masked field stays masked: the answer says it
changed, not to what)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from shared import audit
from shared.auth import Principal, require_principal
from shared.rules import Refusal

READERS = ("admin", "county_staff")


class Actor(BaseModel):
    subject: str
    roles: list[str]
    jurisdiction: str | None


class Change(BaseModel):
    id: int
    record_kind: str
    record_id: str = Field(description="the record's id (key columns joined by ':' for a record without one)")
    operation: str = Field(description="insert, update or delete")
    fields: list[str] = Field(description="the fields that changed (names only, never values)")
    jurisdiction: str | None
    actor: Actor = Field(description="who: from the token of the request that wrote it; 'system' for a worker")
    request_id: str | None
    changed_at: str


class ChangePage(BaseModel):
    items: list[Change]
    next_cursor: str | None


def history_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["change history"])

    @router.get("/history/{record_kind}/{record_id}", response_model=ChangePage)
    async def record_history(record_kind: Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")],
                             record_id: Annotated[str, Path(max_length=200)],
                             request: Request, principal: Annotated[Principal, Depends(require_principal)],
                             limit: Annotated[int, Query(ge=1, le=500)] = 100,
                             cursor: Annotated[str | None, Query(pattern=r"^\d{1,18}$",
                                                                 description="next_cursor of the page before")] = None,
                             ) -> dict[str, Any]:
        """The record's changes, oldest first; an empty page for a record outside the caller's
        jurisdiction or a kind this service does not record."""
        if not principal.has_role(*READERS):
            raise Refusal(403, "forbidden", "county staff and administrators read the change history")
        async with request.app.state.pool.acquire() as conn:
            rows = await audit.history_page(conn, record_kind=record_kind, record_id=record_id,
                                            scope_prefix=principal.scope_prefix,
                                            after_id=int(cursor or 0), limit=limit + 1)
        more = len(rows) > limit
        items = [audit.history_item(row) for row in rows[:limit]]
        return {"items": items, "next_cursor": str(items[-1]["id"]) if more else None}

    return router

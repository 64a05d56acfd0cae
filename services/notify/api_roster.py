"""The duty roster: who is on duty for concerns in a township or county, and when. Each shift
names who last changed it; changes and removals name the version read (If-Match)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, ConfigDict, Field

from services.notify import commands, store_admin
from services.notify.api_models import ShiftOut
from shared.clean_text import CleanInput
from shared.conditional import IfMatch, etag, expected_version, parse_if_match
from shared.pagination import Page, PageRequest, paged
from shared.routes import ADMIN_ROLES, Caller, Idempotent, require_roles
from shared.rules import RuleViolation
from shared.scope import not_found, require_in_scope

router = APIRouter(prefix="/v1", tags=["administration"])
AdminPaging = Annotated[PageRequest, Depends(paged(default=200, maximum=1000))]
Code12 = Annotated[str, Field(pattern=r"^\d{12}$")]


def _covers_township_or_county(field: str, jurisdiction: str) -> None:
    if jurisdiction[9:] != "000":
        raise RuleViolation(field, "值班范围须为乡镇（街道）或县 / a duty roster covers a township or a county, "
                                   "not a village")


class ShiftIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    staff_recipient_id: UUID
    jurisdiction: Code12 = Field(description="the township or county this shift covers")
    starts_at: AwareDatetime
    ends_at: AwareDatetime


def _ordered(starts_at: datetime, ends_at: datetime) -> None:
    """On the field a form shows it under (a model-level error would name only the body)."""
    if ends_at <= starts_at:
        raise RuleViolation("body.ends_at", "结束时间须晚于开始时间 / ends_at must be after starts_at")


@router.post("/duty-roster", status_code=201, response_model=ShiftOut)
async def create_shift(body: ShiftIn, principal: Caller, once: Idempotent) -> JSONResponse:
    """Puts a staff recipient on duty for concerns in a township or county for a time window."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    require_in_scope(principal, body.jurisdiction)
    _covers_township_or_county("body.jurisdiction", body.jurisdiction)
    _ordered(body.starts_at, body.ends_at)

    async def create(conn: Any) -> tuple[int, dict[str, Any]]:
        return 201, dict(await commands.add_shift(
            conn, principal, staff_recipient_id=body.staff_recipient_id, jurisdiction=body.jurisdiction,
            starts_at=body.starts_at, ends_at=body.ends_at))

    return await once.answer(body, create)


@router.get("/duty-roster", response_model=Page[ShiftOut])
async def list_shifts(request: Request, principal: Caller,
                      page: AdminPaging,
                      at: Annotated[datetime | None, Query(description="only shifts covering this instant")] = None,
                      ) -> dict[str, Any]:
    """Latest first."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    async with request.app.state.pool.acquire() as conn:
        rows = await store_admin.list_shifts(conn, principal.scope_prefix, at, page.fetch,
                                             page.after(datetime, UUID))
    return page.keyset([dict(row) for row in rows], key=lambda row: (row["starts_at"], row["id"]))


class ShiftPatch(CleanInput):
    model_config = ConfigDict(extra="forbid")

    staff_recipient_id: UUID | None = None
    jurisdiction: Code12 | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


@router.patch("/duty-roster/{shift_id}", response_model=ShiftOut)
async def patch_shift(request: Request, response: Response, shift_id: UUID, body: ShiftPatch, principal: Caller,
                      if_match: IfMatch = None) -> dict[str, Any]:
    """Changes a shift (another recipient, place or window); If-Match with the version read is
    required (428 without, 412 when stale)."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    version = expected_version(if_match)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if body.jurisdiction is not None:
        require_in_scope(principal, body.jurisdiction)
        _covers_township_or_county("body.jurisdiction", body.jurisdiction)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row = await commands.change_shift(conn, principal, shift_id, version, changes)
    response.headers["ETag"] = etag(row["version"])
    return dict(row)


@router.delete("/duty-roster/{shift_id}", status_code=204)
async def delete_shift(request: Request, shift_id: UUID,
                       principal: Caller, if_match: IfMatch = None) -> Response:
    """Removes a shift; with If-Match, only at that version (404 otherwise, as for one outside
    scope: read it again)."""
    require_roles(principal, *ADMIN_ROLES, "township_staff")
    async with request.app.state.pool.acquire() as conn:
        if not await store_admin.delete_shift(conn, shift_id, principal.scope_prefix, parse_if_match(if_match)):
            raise not_found()
    return Response(status_code=204)

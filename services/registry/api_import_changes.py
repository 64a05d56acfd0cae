"""Updates by sheet: the changes a re-uploaded sheet proposes to records already
registered (field: old → new, masked per role), confirmed all or some by township or
county staff, and the rows whose ID belongs to another child (conflicts).

Confirming applies each change to the record it was read against: if the record changed
since (another version), the change is stale and not applied; a change that breaks a rule
is refused with its reason. Each applied change is a new version of the record with its
ChildUpdated event (ChildTransferred when it moves the child to another place or school).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.registry import domain, privacy, sheet_updates, store, store_imports
from services.registry.api import write_record
from services.registry.api_imports import ReportPaging, report_page
from services.registry.encrypted_columns import IMPORT_CHANGE
from services.registry.models import _In
from services.registry.models_out import RowErrors
from shared.auth import Principal, scope_prefix
from shared.contracts.events import Event
from shared.rules import Refusal, RuleViolation
from shared.purpose import StatedPurpose, clear_purpose
from shared.routes import Caller, cipher_of, require_staff, today

router = APIRouter(prefix="/v1/imports", tags=["imports"])
CONFIRMING_ROLES = ("admin", "county_staff", "township_staff")


class ShownChange(BaseModel):
    field: str
    label: str = Field(description="the field's Chinese name")
    entry: str | None = Field(description="the guardian's or parent's entry id, for their fields")
    old: Any = Field(description="masked (phones, addresses) or null (sensitive fields) unless unmasked")
    new: Any


class ProposedChange(BaseModel):
    id: UUID
    row: int
    child_id: UUID
    name: str
    status: str = Field(description="proposed, applied, stale (the record changed since), refused")
    reason: str | None
    changes: list[ShownChange]


class ProposedChanges(BaseModel):
    items: list[ProposedChange]
    next_cursor: str | None
    total: int
    masked: bool


class ConfirmIn(_In):
    rows: list[Annotated[int, Field(ge=2)]] | None = Field(
        default=None, max_length=10000, description="the sheet rows to apply; null: every proposed change")


class Refused(BaseModel):
    row: int
    field: str
    reason: str


class Confirmed(BaseModel):
    applied: list[int]
    stale: list[int]
    refused: list[Refused]


async def _job_or_404(conn: asyncpg.Connection, job_id: UUID, principal: Principal) -> None:
    """The job's changes are seen by whoever's scope covers the uploader's, and by the staff
    of a place within it (a township confirms the changes a county-wide sheet makes to its
    children; the changes listed are only ever those inside the caller's scope)."""
    job = await store_imports.get_job_in_scope(conn, job_id, "")
    if job is None or not (principal.covers(job["scope"]) or principal.scope_prefix.startswith(
            scope_prefix(job["scope"]))):
        raise Refusal(404, "not_found", "没有这个导入任务 / no such import")


def _opened(request: Request, row: asyncpg.Record) -> list[sheet_updates.Change]:
    return json.loads(cipher_of(request).decrypt(row["changes_enc"], context=IMPORT_CHANGE.context(row["change_id"])))


@router.get("/{job_id}/changes", response_model=ProposedChanges)
async def proposed_changes(job_id: UUID, request: Request, principal: Caller, stated: StatedPurpose,
                           limit: Annotated[int, Query(ge=1, le=500)] = 100,
                           cursor: Annotated[str | None, Query(pattern=r"^\d{1,7}$")] = None) -> JSONResponse:
    """Per child: the fields the sheet changes, old → new. Phones and addresses masked and
    sensitive fields null unless the caller has `view_sensitive` and states a purpose
    (then audited). Only records inside the caller's jurisdiction."""
    require_staff(principal)
    purpose = clear_purpose(stated, principal)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            await _job_or_404(conn, job_id, principal)
            rows = await store_imports.list_changes(conn, job_id, principal.scope_prefix,
                                                    after_row=int(cursor or 0), limit=limit + 1)
            total = await store_imports.count_changes(conn, job_id, principal.scope_prefix)
            page = rows[:limit]
            items = []
            for row in page:
                current = privacy.open_record(row, cipher_of(request))
                items.append({"id": str(row["change_id"]), "row": row["row_number"], "child_id": str(row["id"]),
                              "name": row["name"], "status": row["change_status"], "reason": row["change_reason"],
                              "changes": sheet_updates.shown_changes(current, _opened(request, row),
                                                                     unmask=purpose is not None)})
            if purpose and page:
                await store.record_sensitive_read(
                    conn, subject=principal.subject, roles=sorted(principal.roles), action="import_changes",
                    record_ids=[row["id"] for row in page], fields=sorted({f for row in page for f in row["fields"]}),
                    purpose=purpose)
    more = len(rows) > limit
    return JSONResponse({"items": items, "next_cursor": str(page[-1]["row_number"]) if more else None,
                         "total": total, "masked": purpose is None}, )


def _changed_record(request: Request, row: asyncpg.Record, principal: Principal,
                    version: int) -> tuple[domain.NewChild, Event, str | None]:
    current = privacy.open_record(row, cipher_of(request))
    changes = _opened(request, row)
    changed = sheet_updates.apply_changes(current, changes)
    if not sheet_updates.moves(changes):
        return changed, domain.update(changed, status=row["status"], new_version=version + 1,
                                      today=today(request)), None
    domain.check_record(changed, today(request))
    moved, event = domain.transfer(
        current, status=row["status"], to=changed.jurisdiction, to_school_id=changed.school_id, grade=changed.grade,
        class_name=changed.class_name, allowed_county=principal.jurisdiction[:6], new_version=version + 1,
        today=today(request))
    return changed, event, "transferred"


@router.post("/{job_id}/changes/apply", response_model=Confirmed)
async def confirm_changes(job_id: UUID, body: ConfirmIn, request: Request, principal: Caller) -> JSONResponse:
    """Applies the proposed changes of the rows given (all when `rows` is null)."""
    require_staff(principal)
    if not principal.has_role(*CONFIRMING_ROLES):
        raise Refusal(403, "forbidden", "由乡镇或县级工作人员确认更新 / township or county staff confirm updates")
    applied: list[int] = []
    stale: list[int] = []
    refused: list[dict[str, Any]] = []
    now = request.app.state.settings.clock.now()
    async with request.app.state.pool.acquire() as conn:
        await _job_or_404(conn, job_id, principal)
        rows = await store_imports.list_changes(conn, job_id, principal.scope_prefix, after_row=0, limit=None,
                                                rows=body.rows, status="proposed")
        for row in rows:
            number = row["row_number"]
            async with conn.transaction():
                if row["version"] != row["base_version"] or row["status"] == "closed":
                    stale.append(number)
                    await store_imports.decide_change(conn, row["change_id"], status="stale", now=now,
                                                      reason="档案在上传后已被修改 / the record changed since the upload",
                                                      decided_by=principal.subject)
                    continue
                try:
                    changed, event, new_status = _changed_record(request, row, principal, row["version"])
                    status_change = {"status": new_status} if new_status else {}
                    await write_record(request, principal, conn, changed, event, row["version"], **status_change)
                except RuleViolation as violation:
                    refused.append({"row": number, "field": violation.field, "reason": violation.reason})
                    await store_imports.decide_change(conn, row["change_id"], status="refused", now=now,
                                                      reason=violation.reason, decided_by=principal.subject)
                    continue
                await store_imports.decide_change(conn, row["change_id"], status="applied", reason=None, now=now,
                                                  decided_by=principal.subject)
                applied.append(number)
    return JSONResponse({"applied": applied, "stale": stale, "refused": refused})


@router.get("/{job_id}/conflicts", response_model=RowErrors)
async def job_conflicts(job_id: UUID, request: Request, principal: Caller, page: ReportPaging) -> JSONResponse:
    """Rows whose national ID is registered for another child (name or birth date differ):
    not imported; check the ID in the sheet (or the record, if it is yours)."""
    require_staff(principal)
    return await report_page(request, principal, job_id, "conflict", page)

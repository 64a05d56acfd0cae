"""Confirming an upload's column mapping: the clerk accepts the proposed mapping or edits
it (header → template column, or null: not imported); the job then runs, and the mapping
is kept for the county, so its next sheet with the same headers is read without asking."""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from services.registry import sheets, store_imports, stored_rows
from services.registry.api_imports import job_out, proposed_mapping
from services.registry.models import _In
from services.registry.models_out import ImportJobOut
from shared.rules import Refusal, RuleViolation
from shared.routes import Caller, require_staff

router = APIRouter(prefix="/v1/imports", tags=["imports"])


class MappingIn(_In):
    mapping: dict[Annotated[str, Field(max_length=200)], Annotated[str, Field(max_length=40)] | None] = Field(
        default_factory=dict, max_length=500,
        description="header (first line, as the sheet writes it) → column key, or null: not imported; "
                    "headers left out keep the proposal")


def _columns(headers: list[str], chosen: dict[str, str | None]) -> tuple[dict[str, int], list[str]]:
    as_saved = {header: key or "" for header, key in chosen.items()}
    try:
        return sheets.map_headers(headers, as_saved)
    except sheets.SheetRejected as rejected:
        raise RuleViolation("body.mapping", rejected.reason) from None


@router.post("/{job_id}/mapping", response_model=ImportJobOut)
async def confirm_mapping(job_id: UUID, body: MappingIn, request: Request, principal: Caller) -> JSONResponse:
    """Confirms (or edits and confirms) the column mapping of a job awaiting it; the job then
    runs. 422 naming the header when a column is unknown, chosen twice, or a required
    column is left without one; 409 when the job is not awaiting a mapping."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            job = await store_imports.job_for_mapping(conn, job_id, principal.scope_prefix)
            if job is None:
                raise Refusal(404, "not_found", "没有这个导入任务 / no such import")
            if job["status"] != "awaiting_mapping":
                raise RuleViolation("path.job_id", "该导入不在等待确认列对应 / the import is not awaiting a mapping", 409)
            proposal = proposed_mapping(job)
            for header, key in body.mapping.items():
                if header not in proposal:
                    raise RuleViolation(f"body.mapping.{header}", "表格没有这一列 / the sheet has no such header")
                if key is not None and key not in sheets.BY_KEY:
                    raise RuleViolation(f"body.mapping.{header}", "不是模板的列 / not a column of the template")
            chosen = {**proposal, **body.mapping}
            columns, unmapped = _columns(list(job["headers"]), chosen)
            missing = sheets.missing_columns(columns)
            if missing:
                raise RuleViolation("body.mapping", "缺少必填列：" + "、".join(sheets.BY_KEY[k].zh for k in missing)
                                    + " / required columns missing: " + ", ".join(missing))
            rows = await asyncio.to_thread(stored_rows.with_columns, job["stored_rows"], columns)
            headers = list(job["headers"])
            mapping = {sheets.first_line(headers[index]): key for key, index in columns.items()}
            confirmed = await store_imports.confirm_mapping(conn, job_id, stored_rows=rows, mapping=mapping,
                                                            unmapped=unmapped)
            county = job["scope"][:6]
            await store_imports.save_mapping(conn, county, {h: k or "" for h, k in chosen.items()},
                                             principal.subject)
    return JSONResponse(job_out(confirmed))

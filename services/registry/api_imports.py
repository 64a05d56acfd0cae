"""Bulk import routes: the template, the upload (a background job), its progress and its
error report."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime
from typing import Annotated
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, Depends, File, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response

from services.registry import sheet_writers, sheets, store_imports
from services.registry.models_out import ImportJobOut, ImportJobs, RowErrors
from shared import idempotency
from shared.conditional import IdempotencyKey
from shared.pagination import PageRequest, encode_cursor, paged
from shared.rules import Refusal, RuleViolation
from shared.auth import Principal
from shared.routes import Caller, require_staff

router = APIRouter(prefix="/v1/imports", tags=["imports"])


def job_out(row: asyncpg.Record) -> dict:
    return {
        "id": str(row["id"]), "status": row["status"], "file_format": row["file_format"],
        "rows_total": row["rows_total"], "rows_done": row["rows_done"], "rows_imported": row["rows_imported"],
        "rows_rejected": row["rows_rejected"], "rows_existing": row["rows_existing"],
        "rows_changed": row["rows_changed"], "rows_conflicting": row["rows_conflicting"],
        "failure": row["failure"], "created_at": row["created_at"].isoformat(),
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
        # How the headers were read, and the columns that were not imported (say so, never drop silently).
        "columns": _mapping(row["column_mapping"]), "unmapped_columns": list(row["unmapped_columns"]),
        "suggested_columns": _mapping(row["suggested_columns"]),
        "proposed_mapping": proposed_mapping(row),
    }


def proposed_mapping(row: asyncpg.Record) -> dict[str, str | None]:
    """Every header of the sheet → the column it is (or would be) read as; null: not imported.
    What a clerk confirms, or edits and confirms, for a job awaiting its mapping."""
    columns = _mapping(row["column_mapping"])
    suggested = {label.split(" ", 1)[-1]: key for label, key in _mapping(row["suggested_columns"]).items()}
    return {header: columns.get(header) or suggested.get(header)
            for header in (sheets.first_line(h) for h in row["headers"]) if header}


def _mapping(value: object) -> dict[str, str]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


@router.get("/template.xlsx", response_class=Response, responses={200: {"content": {sheets.XLSX_TYPE: sheets.XLSX_SCHEMA}}})
async def template(principal: Caller) -> Response:
    """The sheet schools fill in: Chinese headers with English, drop-downs, ID as text."""
    require_staff(principal)
    content = await asyncio.to_thread(sheet_writers.template_workbook)
    return Response(content, media_type=sheets.XLSX_TYPE,
                    headers={"Content-Disposition": "attachment; filename=\"registry-template.xlsx\""})


def _rejected(reason: str) -> RuleViolation:
    return RuleViolation("body.file", reason)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ImportJobOut,
             responses={413: {"description": "the file is larger than 25 MB"}})
async def upload(request: Request, principal: Caller, file: Annotated[UploadFile, File()],
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Uploads an XLSX, XLS or CSV sheet (at most 25 MB). The file is checked at once (422
    with the reason if it is not a usable sheet, and nothing is written); then it is
    imported in the background: follow `GET /v1/imports/{id}`. Headers read with the
    county's confirmed mapping first; if some column is only proposed (`proposed_mapping`),
    the job is `awaiting_mapping` until `POST /v1/imports/{id}/mapping` confirms it."""
    require_staff(principal)
    content = await file.read(sheets.MAX_UPLOAD_BYTES + 1)
    if len(content) > sheets.MAX_UPLOAD_BYTES:
        raise RuleViolation("body.file", "文件超过25MB，请分批上传 / larger than 25 MB; split it",
                            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    county = principal.scope_prefix[:6]
    async with request.app.state.pool.acquire() as conn:
        saved = await store_imports.saved_mapping(conn, county) if len(county) == 6 else {}
    try:
        upload = await request.app.state.upload_reader.read(content, saved)
    except sheets.SheetRejected as rejected:
        raise _rejected(rejected.reason) from None
    digest = hashlib.sha256(content).hexdigest()

    async def create(conn: asyncpg.Connection) -> tuple[int, dict]:
        row = await store_imports.create_job(
            conn, job_id=uuid4(), created_by=principal.subject, scope=principal.jurisdiction,
            file_format=upload.file_format, file_sha256=digest, content=content,
            stored_rows=upload.stored_rows, rows_total=upload.rows_total, column_mapping=upload.mapping,
            unmapped_columns=upload.unmapped, suggested_columns=upload.suggested, headers=upload.headers,
            # proposals are never applied by themselves: the clerk confirms the mapping first
            status="awaiting_mapping" if upload.suggested else "pending")
        return status.HTTP_202_ACCEPTED, job_out(row)

    status_code, body = await idempotency.once(request.app.state.pool, principal.subject, idempotency_key, digest,
                                               create)
    return JSONResponse(body, status_code=status_code, headers={"Location": f"{router.prefix}/{body['id']}"})


@router.get("", response_model=ImportJobs)
async def list_jobs(request: Request, principal: Caller,
                    page: Annotated[PageRequest, Depends(paged(default=20, maximum=100))]) -> JSONResponse:
    """Newest first."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_imports.list_jobs_in_scope(conn, principal.scope_prefix, page.fetch,
                                                      page.after(datetime, UUID))
    return JSONResponse(page.keyset(rows, key=lambda row: (row["created_at"], row["id"]),
                                    items=[job_out(row) for row in rows]))


@router.get("/{job_id}", response_model=ImportJobOut)
async def job_progress(job_id: UUID, request: Request, principal: Caller) -> JSONResponse:
    """Status and progress (rows done of total), and counts of imported and rejected rows."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        row = await store_imports.get_job_in_scope(conn, job_id, principal.scope_prefix)
    if row is None:
        raise Refusal(404, "not_found", "没有这个导入任务 / no such import")
    return JSONResponse(job_out(row))


async def report_page(request: Request, principal: Principal, job_id: UUID, kind: str,
                       page: PageRequest) -> JSONResponse:
    """A page of `page.limit` sheet rows (every problem of each); the cursor holds the last row shown."""
    after = page.after(int)
    async with request.app.state.pool.acquire() as conn:
        if await store_imports.get_job_in_scope(conn, job_id, principal.scope_prefix) is None:
            raise Refusal(404, "not_found", "没有这个导入任务 / no such import")
        total_rows = await store_imports.count_rows(conn, job_id, kind)
        rows = await store_imports.list_errors(conn, job_id, kind=kind, after_row=after[0] if after else 0,
                                               limit=page.fetch)
    numbers = sorted({r["row_number"] for r in rows})
    shown = [r for r in rows if r["row_number"] in numbers[: page.limit]]
    next_cursor = encode_cursor([numbers[page.limit - 1]]) if len(numbers) > page.limit else None
    return JSONResponse({"items": [{"row": r["row_number"], "column": r["column_name"], "reason": r["reason"]}
                                   for r in shown], "next_cursor": next_cursor, "total": None,
                         "total_rows": total_rows})


ReportPaging = Annotated[PageRequest, Depends(paged(default=1000, maximum=5000))]


@router.get("/{job_id}/errors", response_model=RowErrors)
async def job_errors(job_id: UUID, request: Request, principal: Caller, page: ReportPaging) -> JSONResponse:
    """Refused rows as JSON, a page of sheet rows at a time: row number, column and reason;
    never the rejected value. Rows already registered are listed apart (…/existing)."""
    require_staff(principal)
    return await report_page(request, principal, job_id, "error", page)


@router.get("/{job_id}/existing", response_model=RowErrors)
async def job_existing(job_id: UUID, request: Request, principal: Caller, page: ReportPaging) -> JSONResponse:
    """Rows whose national ID is already registered: not imported again, nothing to fix."""
    require_staff(principal)
    return await report_page(request, principal, job_id, "existing", page)


@router.get("/{job_id}/errors.xlsx", response_class=Response,
            responses={200: {"content": {sheets.XLSX_TYPE: sheets.XLSX_SCHEMA}}})
async def job_error_report(job_id: UUID, request: Request, principal: Caller) -> Response:
    """The error report to send back to the school, by row and column, in Chinese with English."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        job = await store_imports.get_job_in_scope(conn, job_id, principal.scope_prefix)
        if job is None:
            raise Refusal(404, "not_found", "没有这个导入任务 / no such import")
        # conflicts (another child's ID) are refusals with a reason, as errors are
        rows = sorted([*await store_imports.list_errors(conn, job_id),
                       *await store_imports.list_errors(conn, job_id, kind="conflict")],
                      key=lambda r: r["row_number"])
        existing = await store_imports.list_errors(conn, job_id, kind="existing")
    summary = {"总行数 Rows": job["rows_total"], "已处理 Done": job["rows_done"],
               "已导入 Imported": job["rows_imported"], "有错误 Rejected": job["rows_rejected"],
               "已建档未重复导入 Already registered": job["rows_existing"],
               "待确认的更新 Changes to confirm": job["rows_changed"],
               "身份证号冲突 ID conflicts": job["rows_conflicting"],
               "未导入的列 Columns not imported": "、".join(job["unmapped_columns"]) or "无 none"}
    content = await asyncio.to_thread(
        sheet_writers.error_report, [(r["row_number"], r["column_name"], r["reason"]) for r in rows], summary,
        [r["row_number"] for r in existing])
    return Response(content, media_type=sheets.XLSX_TYPE,
                    headers={"Content-Disposition": "attachment; filename=\"import-errors.xlsx\""})

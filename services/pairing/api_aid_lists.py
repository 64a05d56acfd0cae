"""Aid programmes' distribution lists: drafted from the cohort or from an uploaded sheet,
reviewed (a child taken off), then confirmed at once into one support record per child with
the day and the receipt (api_aid.py: the programmes and the ledger)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, File, HTTPException, Query, Request, UploadFile, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.pairing import commands, domain_aid, store_aid, store_support
from services.pairing.api_aid import cohort_of, programme_in_scope, require_manager, sees, with_etag
from services.pairing.encrypted_columns import SUPPORT_GIVEN_BY
from services.pairing.registry_children import RegistryUnavailable
from shared.auth import Principal
from shared.clean_text import CleanInput
from shared.conditional import IfMatch, expected_version, stale
from shared.pagination import Page, Paging
from shared.routes import Caller, Idempotent, cipher_of, require_staff, today, transaction
from shared.rules import Refusal, RuleViolation
from shared.scope import not_found
from shared.sheet_reading import MAX_UPLOAD_BYTES, SheetRejected, read_rows

router = APIRouter(prefix="/v1", tags=["aid"])


class DraftIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    given_on: date = Field(description="the planned day of the distribution: it decides the term")


class AidListOut(BaseModel):
    id: UUID
    programme_id: UUID
    programme_name: str
    period: str
    given_on: date
    source: Literal["cohort", "upload"]
    status: Literal["draft", "confirmed"]
    receipt_no: str | None
    children: int
    amount_fen: int
    version: int
    created_at: datetime
    confirmed_at: datetime | None
    left_out: int | None = Field(default=None, description="at drafting: cohort children left out, "
                                                            "having had the programme this term")


class AidListRowOut(BaseModel):
    row_no: int
    child_id: UUID
    amount_fen: int
    receipt_no: str | None
    support_id: UUID | None
    township_code: str
    village_code: str | None
    school_id: str | None


class ConfirmIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    given_on: date = Field(description="the day the aid was handed out")
    receipt_no: str = Field(min_length=1, max_length=64, description="the signed receipt sheet's number (签收单编号)")
    handled_by: str | None = Field(default=None, min_length=1, max_length=64,
                                   description="who handed it out (经手人); stored encrypted")


def _list_out(row: Any, left_out: int | None = None) -> dict[str, Any]:
    return {"id": row["id"], "programme_id": row["programme_id"], "programme_name": row["programme_name"],
            "period": row["period_key"], "given_on": row["given_on"], "source": row["source"],
            "status": row["status"], "receipt_no": row["receipt_no"], "children": row["children"],
            "amount_fen": int(row["amount_fen"]), "version": row["version"], "created_at": row["created_at"],
            "confirmed_at": row["confirmed_at"], "left_out": left_out}


async def _aid_list(conn: asyncpg.Connection, principal: Principal, list_id: UUID, *,
                    lock: bool = False) -> asyncpg.Record:
    row = await store_aid.get_list(conn, list_id, lock=lock)
    if row is None or not sees(principal, row["scope_prefix"]):
        raise not_found("list")
    return row


def _not_in_future(request: Request, day: date, field: str) -> None:
    if day > today(request):
        raise RuleViolation(field, "日期不能晚于今天 / the day is in the future")


def _row_errors(errors: list[dict[str, Any]]) -> HTTPException:
    """Several rows at fault at once: one 422 listing each (shared/problems.py writes the body)."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=errors[:500])


# -- distribution lists ------------------------------------------------------------------

async def _draft(conn: asyncpg.Connection, request: Request, principal: Caller, programme: asyncpg.Record,
                 given_on: date, source: str, rows: list[tuple[int, UUID, int, str | None]]) -> asyncpg.Record:
    list_id = uuid.uuid4()
    await store_aid.insert_list(conn, {
        "id": list_id, "programme_id": programme["id"], "period_key": domain_aid.term_of(given_on),
        "given_on": given_on, "source": source, "created_by": principal.subject}, rows)
    return await store_aid.get_list(conn, list_id)


@router.post("/aid-programmes/{programme_id}/lists", status_code=201, response_model=AidListOut)
async def draft_from_cohort(programme_id: UUID, body: DraftIn, request: Request, principal: Caller,
                            once: Idempotent) -> JSONResponse:
    """A draft distribution list: every active child of the cohort within the caller's place,
    less those who had the programme in the term of `given_on` (counted in `left_out`), each
    with the programme's amount. Nothing is given until the list is confirmed."""
    require_manager(principal)

    async def create(conn: asyncpg.Connection) -> tuple[int, Any]:
        programme = await programme_in_scope(conn, principal, programme_id)
        if not programme["active"]:
            raise Refusal(409, "programme_inactive", "the programme is not active")
        children = [row["id"] for row in await store_aid.cohort_children(
            conn, programme["scope_prefix"], principal.scope_prefix, cohort_of(programme))]
        given = await store_aid.given_this_term(conn, programme_id, domain_aid.term_of(body.given_on), children)
        chosen = [child for child in children if child not in given]
        if not chosen:
            raise RuleViolation("body.given_on", "名单为空：本学期没有尚未领取的符合条件儿童 / no child of the cohort "
                                                 "is left to give to this term")
        row = await _draft(conn, request, principal, programme, body.given_on, "cohort",
                           [(number, child, programme["amount_fen"], None) for number, child in enumerate(chosen, 1)])
        return 201, _list_out(row, left_out=len(given))

    return await once.answer({"programme_id": str(programme_id), **body.model_dump()}, create,
                             location="/v1/aid-lists/{id}")


@router.post("/aid-programmes/{programme_id}/lists/upload", status_code=201, response_model=AidListOut,
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"],
                 "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
async def draft_from_sheet(programme_id: UUID, request: Request, principal: Caller,
                           file: Annotated[UploadFile, File()],
                           given_on: Annotated[date, Query(description="the planned day: it decides the term")]
                           ) -> JSONResponse:
    """A draft list from a sheet (XLSX, XLS or CSV in UTF-8 or GB18030): each row names its
    child by 儿童编号 (as the draft's receipt sheet and the registry's export write it), by
    身份证号, or — on a sheet without an ID column — by 姓名 and 出生日期, which must fit
    exactly one child in the caller's place; optionally 金额（元） (else the programme's
    amount) and 收据号. The registry says which child a 身份证号 or a name and birth date is
    (one batched, audited call; ids only). Rows at fault — an ID whose check digit or
    region code is wrong, nobody or several children found, a child outside the place, twice
    in the sheet, already given this term, a bad amount — are listed by row and column
    (422, `errors[{row, column, reason}]`) and nothing is drafted. 503 when the registry
    cannot be asked now."""
    require_manager(principal)
    content = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise RuleViolation("body.file", "文件超过25MB / larger than 25 MB", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    try:
        cells = await asyncio.to_thread(read_rows, content)
    except SheetRejected as rejected:
        raise RuleViolation("body.file", rejected.reason) from None
    sheet_rows, errors = domain_aid.read_distribution_rows(cells)
    async with request.app.state.pool.acquire() as conn:
        programme = await programme_in_scope(conn, principal, programme_id)
    if not programme["active"]:
        raise Refusal(409, "programme_inactive", "the programme is not active")
    asked = [row for row in sheet_rows if row.child_id is None]
    if asked:
        named, faults = await _resolve(request, principal, programme, asked)
        by_row = {row.row_no: row for row in named}
        sheet_rows = [by_row[row.row_no] if row.child_id is None else row
                      for row in sheet_rows if row.child_id is not None or row.row_no in by_row]
        errors.extend(faults)
    async with transaction(request) as conn:
        ids = [row.child_id for row in sheet_rows if row.child_id is not None]
        known = await store_aid.children_in_scope(conn, ids, programme["scope_prefix"], principal.scope_prefix)
        for row in sheet_rows:
            if row.child_id not in known:
                errors.append(domain_aid.row_error(row.row_no, row.named_by, "不在本项目的服务范围内或查无此儿童 / "
                                                                             "no such child in the programme's place"))
            elif known[row.child_id]["status"] != "active":
                errors.append(domain_aid.row_error(row.row_no, row.named_by, "该儿童档案已不在册 / not active"))
        given = await store_aid.given_this_term(conn, programme_id, domain_aid.term_of(given_on), ids)
        errors.extend(domain_aid.duplicate_rows(((row.row_no, row.child_id) for row in sheet_rows
                                                 if row.child_id is not None), given,
                                                {row.row_no: row.named_by for row in sheet_rows}))
        if errors:
            raise _row_errors(sorted(errors, key=lambda e: (e.get("row") or 0, e["field"])))
        row = await _draft(conn, request, principal, programme, given_on, "upload", [
            (r.row_no, r.child_id, programme["amount_fen"] if r.amount_fen is None else r.amount_fen, r.receipt_no)
            for r in sheet_rows if r.child_id is not None])
        return with_etag(_list_out(row), status_code=201)


async def _resolve(request: Request, principal: Principal, programme: asyncpg.Record,
                   rows: list[domain_aid.SheetRow]) -> tuple[list[domain_aid.SheetRow], list[dict[str, Any]]]:
    """Asks the registry which child each row's 身份证号 or 姓名+出生日期 names, within the
    narrower of the caller's place and the programme's (one is within the other)."""
    resolver = request.app.state.child_resolver
    if resolver is None:
        raise Refusal(503, "registry_unavailable", "身份证号、姓名不能核对：未配置档案服务 / the registry is not "
                                                  "configured; name the children by 儿童编号")
    place = (programme["scope_code"] if len(programme["scope_prefix"]) > len(principal.scope_prefix)
             else principal.jurisdiction)
    try:
        results = await resolver.resolve([row.identity for row in rows], jurisdiction=place)
    except RegistryUnavailable:
        raise Refusal(503, "registry_unavailable", "暂时无法向档案服务核对身份证号，请稍后再试 / the registry "
                                                  "cannot be asked now; try again shortly") from None
    return domain_aid.resolved_rows(rows, results)


@router.get("/aid-programmes/{programme_id}/lists", response_model=Page[AidListOut])
async def programme_lists(programme_id: UUID, request: Request, principal: Caller, page: Paging) -> dict[str, Any]:
    """The programme's lists, newest first: drafts to review and confirmed distributions."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        await programme_in_scope(conn, principal, programme_id)
        rows = await store_aid.lists_of_programme(conn, programme_id)
    return page.of_sequence([_list_out(row) for row in rows])


@router.get("/aid-lists/{list_id}", response_model=AidListOut)
async def read_list(list_id: UUID, request: Request, principal: Caller) -> JSONResponse:
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        return with_etag(_list_out(await _aid_list(conn, principal, list_id)))


@router.get("/aid-lists/{list_id}/rows", response_model=Page[AidListRowOut])
async def read_list_rows(list_id: UUID, request: Request, principal: Caller, page: Paging) -> dict[str, Any]:
    """The list's children in row order, with ids and places (names: the registry's
    POST /v1/children/names for the rows shown)."""
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        await _aid_list(conn, principal, list_id)
        rows = await store_aid.list_rows(conn, list_id)
    return page.of_sequence([{key: row[key] for key in AidListRowOut.model_fields} for row in rows])


@router.delete("/aid-lists/{list_id}/rows/{child_id}", status_code=204)
async def remove_from_list(list_id: UUID, child_id: UUID, request: Request, principal: Caller) -> Response:
    """Takes a child off a draft (reviewing it before confirmation)."""
    require_manager(principal)
    async with transaction(request) as conn:
        aid_list = await _aid_list(conn, principal, list_id, lock=True)
        if aid_list["status"] != "draft":
            raise Refusal(409, "list_confirmed", "the list is confirmed; its records stand")
        if not await store_aid.remove_row(conn, list_id, child_id):
            raise not_found("row")
    return Response(status_code=204)


@router.post("/aid-lists/{list_id}/confirm", response_model=AidListOut)
async def confirm(list_id: UUID, body: ConfirmIn, request: Request, principal: Caller, once: Idempotent,
                  if_match: IfMatch = None) -> JSONResponse:
    """Records the distribution: one support record per child (SupportRecorded with the
    programme's id each), with the day and the receipt sheet's number, in one transaction.
    Refused whole when a child had the programme this term (422, the rows listed), when the
    total exceeds the remaining budget (409 over_budget), or when the list changed since it
    was read (If-Match: the list's ETag; 412). With an Idempotency-Key a retry gets the first
    answer."""
    require_manager(principal)
    expected = expected_version(if_match)
    _not_in_future(request, body.given_on, "body.given_on")
    period = domain_aid.term_of(body.given_on)

    async def create(conn: asyncpg.Connection) -> tuple[int, Any]:
        aid_list = await _aid_list(conn, principal, list_id, lock=True)
        programme = await programme_in_scope(conn, principal, aid_list["programme_id"], lock=True)
        if aid_list["status"] != "draft":
            raise Refusal(409, "list_confirmed", "the list is already confirmed")
        if aid_list["version"] != expected:
            raise stale(aid_list["version"])
        if period != aid_list["period_key"]:
            raise RuleViolation("body.given_on", "发放日期须在名单的学期内 / the day must fall in the list's term")
        rows = await store_aid.list_rows(conn, list_id)
        given = await store_aid.given_this_term(conn, programme["id"], period, [row["child_id"] for row in rows])
        errors = domain_aid.duplicate_rows(((row["row_no"], row["child_id"]) for row in rows), given)
        if errors:
            raise _row_errors(errors)
        domain_aid.check_budget(budget_fen=programme["budget_fen"], spent_fen=int(programme["spent_fen"]),
                                wanted_fen=sum(row["amount_fen"] for row in rows))
        supports = []
        for row in rows:
            earlier = await store_support.earlier_gift_in_period(conn, row["child_id"], programme["fund"], period)
            record_id = uuid.uuid4()
            given_by = None if body.handled_by is None else cipher_of(request).encrypt(
                body.handled_by, context=SUPPORT_GIVEN_BY.context(record_id))
            record = await store_aid.insert_programme_support(conn, {
                "id": record_id, "child_id": row["child_id"], "county_code": row["county_code"],
                "township_code": row["township_code"], "village_code": row["village_code"],
                "kind": programme["kind"], "amount_fen": row["amount_fen"], "item": programme["item"],
                "fund": programme["fund"], "given_on": body.given_on, "period_key": period,
                "given_by_enc": given_by, "flagged_duplicate_of": earlier, "created_by": principal.subject,
                "programme_id": programme["id"], "list_id": list_id, "receipt_no": row["receipt_no"] or body.receipt_no})
            await commands.support_event(conn, record, row, programme_id=programme["id"],
                                         programme_name=programme["name"])
            supports.append((row["row_no"], record_id))
        await store_aid.confirm_list(conn, list_id, given_on=body.given_on, receipt_no=body.receipt_no,
                                     by=principal.subject, supports=supports)
        return 200, jsonable_encoder(_list_out(await store_aid.get_list(conn, list_id)))

    return await once.answer({"list_id": str(list_id), **body.model_dump()}, create)

"""Registry routes for one child's record: create, read, update, transfer, close, reopen.
Parse, call the domain, store + outbox in one transaction."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse

from services.registry import api_duplicates, card_edits, child_fields, commands, domain, privacy, store
from services.registry.models import ChildIn, ChildPatch, CloseIn, LawfulBasisIn, ReopenIn, TransferIn
from services.registry.pinyin import search_text
from services.registry.models_out import ChildOut
from shared import idempotency, outbox
from shared.conditional import IdempotencyKey, IfMatch, etag, etag_headers, expected_version, stale
from shared.rules import Refusal, RuleViolation
from shared.auth import Principal
from shared.contracts.events import Event
from shared.purpose import StatedPurpose, clear_purpose
from shared.routes import Caller, cipher_of, require_staff, today
from shared.scope import not_found
from services.registry.division_cache import divisions_of

router = APIRouter(prefix="/v1", tags=["children"])



def _basis(basis: LawfulBasisIn | None) -> dict[str, Any]:
    if basis is None:
        return dict(domain.STATUTORY_BASIS)
    return basis.model_dump(mode="json")


def _new_child(body: ChildIn) -> domain.NewChild:
    return domain.NewChild(
        id=uuid4(), name=body.name, gender=body.gender, birth_date=body.birth_date,
        jurisdiction=body.jurisdiction, school_id=body.school_id, categories=tuple(dict.fromkeys(body.categories)),
        national_id=body.national_id, address=body.address,
        sensitive_categories=tuple(sorted(set(body.sensitive_categories))),
        priority_reason=body.priority_reason,
        guardians=tuple({**g.model_dump(mode="json"), "id": str(uuid4())} for g in body.guardians),
        parents=tuple({**p.model_dump(mode="json"), "id": str(uuid4())} for p in body.parents),
        lawful_basis=_basis(body.lawful_basis), particulars=body.particulars,
        **{name: getattr(body, name) for name in child_fields.names()},
    )


async def _answer(request: Request, conn: asyncpg.Connection, row: asyncpg.Record) -> JSONResponse:
    """Writes answer with the masked view: a write never reveals more than was sent."""
    (body,) = await commands.named(divisions_of(request), conn, [privacy.view(row, cipher_of(request), unmask=False).body])
    return JSONResponse(body, headers={"ETag": etag(row["version"])})


async def _audit(conn: asyncpg.Connection, principal: Principal, action: str, ids: list[UUID],
                 fields: set[str] | tuple[str, ...], purpose: str) -> None:
    if fields:
        await store.record_sensitive_read(conn, subject=principal.subject, roles=sorted(principal.roles),
                                          action=action, record_ids=ids, fields=sorted(fields), purpose=purpose)


@router.post("/children", status_code=status.HTTP_201_CREATED, response_model=ChildOut)
async def register_child(body: ChildIn, request: Request, principal: Caller,
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Registers a child (一人一档). Retry with the same `Idempotency-Key` after a timeout."""
    require_staff(principal)
    if not principal.covers(body.jurisdiction.village_code or body.jurisdiction.township_code):
        raise Refusal(403, "forbidden", "儿童所在地不在您的管辖范围内 / the child's jurisdiction is outside yours")
    if not principal.covers_school(body.school_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, [{"field": "body.school_id",
                                                         "reason": "学校工作人员只能登记本校学生 / "
                                                                   "a school's staff register their own pupils"}])
    child = _new_child(body)
    event = domain.register(child, today=today(request))
    async with request.app.state.pool.acquire() as conn:
        await commands.check_places(divisions_of(request), conn, child.jurisdiction)
        await commands.check_school(conn, child.jurisdiction.county_code, child.school_id)
    cipher = cipher_of(request)
    sealed = privacy.seal(child, cipher)
    values = store.child_values(child, sealed, search_text(child.name), source="api", created_by=principal.subject,
                                recorded_at=request.app.state.settings.clock.now())
    written: dict[str, Any] = {}

    async def create(conn: asyncpg.Connection) -> tuple[int, Any]:
        try:
            await store.insert_child(conn, values)
        except store.DuplicateNationalId:
            raise api_duplicates.NationalIdTaken(sealed["national_id_index"]) from None
        await outbox.add(conn, event)
        written["row"] = await store.get_child_in_scope(conn, child.id, principal.scope_prefix)
        (body,) = await commands.named(divisions_of(request), conn, [privacy.view(written["row"], cipher, unmask=False).body])
        return status.HTTP_201_CREATED, body

    try:
        status_code, response = await idempotency.once(
            request.app.state.pool, principal.subject, idempotency_key,
            idempotency.request_fingerprint(body.model_dump(mode="json")), create)
    except api_duplicates.NationalIdTaken as taken:
        await api_duplicates.answer(request, principal, taken)
    # A retry answered from the key carries the version it was first answered with.
    headers = {**etag_headers(response), "Location": f"{router.prefix}/children/{response['id']}"}
    return JSONResponse(response, status_code=status_code, headers=headers)


@router.get("/children/{child_id}", response_model=ChildOut)
async def read_child(child_id: UUID, request: Request, principal: Caller, stated: StatedPurpose) -> JSONResponse:
    """One record. Sensitive fields are masked unless the caller has `view_sensitive` and
    states a purpose (`X-Purpose` header); such a read is written to the audit trail."""
    require_staff(principal)
    purpose = clear_purpose(stated, principal)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row = await store.get_child_in_scope(conn, child_id, principal.scope_prefix,
                                             school_id=principal.school_scope)
            if row is None:
                raise not_found("child")
            shown = privacy.view(row, cipher_of(request), unmask=purpose is not None)
            if purpose:
                await _audit(conn, principal, "read", [child_id], shown.revealed, purpose)
        (body,) = await commands.named(divisions_of(request), conn, [shown.body])
    return JSONResponse(body, headers={"ETag": etag(row["version"])})


def _apply_patch(child: domain.NewChild, patch: ChildPatch) -> domain.NewChild:
    """The record with the fields the patch sets. Nothing the caller could not see changes by
    omission: masked values sent back keep the stored ones, `sensitive_categories` and
    `priority_reason` null (how a masked reader sees them) mean unchanged (clear them with
    [] and ""), guardians and parents merge by entry id (card_edits)."""
    sent = patch.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("name", "gender", "birth_date", *child_fields.names()):
        if name in sent:
            changes[name] = getattr(patch, name)
    for name, mask in card_edits.RECORD_MASKS.items():
        if name in sent:
            changes[name] = card_edits.kept_or_new(getattr(child, name), getattr(patch, name), mask, name)
    if patch.priority_reason is not None:
        changes["priority_reason"] = patch.priority_reason or None
    if patch.particulars is not None:
        changes["particulars"] = patch.particulars or None
    if "categories" in sent:
        changes["categories"] = tuple(dict.fromkeys(patch.categories or ()))
    if patch.sensitive_categories is not None:
        changes["sensitive_categories"] = tuple(sorted(set(patch.sensitive_categories)))
    for group in ("guardians", "parents"):
        entries = getattr(patch, group)
        if entries is not None:
            changes[group] = card_edits.merged_list(
                group, getattr(child, group), [entry.model_dump(mode="json", exclude_unset=True) for entry in entries],
                group, uuid4)
    if "lawful_basis" in sent:
        changes["lawful_basis"] = _basis(patch.lawful_basis)
    never_null = [field.name for field in child_fields.FIELDS if field.default is not None]
    for required in ("name", "gender", "birth_date", *never_null):
        if required in changes and changes[required] is None:
            raise RuleViolation(required, "不能清空 / cannot be removed")
    if changes.get("priority") is False and "priority_reason" not in changes:
        changes["priority_reason"] = None
    return replace(child, **changes)


async def write_record(request: Request, principal: Principal, conn: asyncpg.Connection, child: domain.NewChild,
                 event: Event, version: int, **status_change: Any) -> asyncpg.Record:
    sealed = privacy.seal(child, cipher_of(request))
    try:
        row = await store.replace_child(conn, child, sealed, search_text(child.name),
                                        expected_version=version,
                                        recorded_at=request.app.state.settings.clock.now(), **status_change)
    except store.DuplicateNationalId:
        raise api_duplicates.NationalIdTaken(sealed["national_id_index"]) from None
    if row is None:
        raise stale()
    await outbox.add(conn, event)
    return row


async def load_for_change(request: Request, principal: Principal, conn: asyncpg.Connection, child_id: UUID,
                version: int) -> tuple[asyncpg.Record, domain.NewChild]:
    row = await store.get_child_in_scope(conn, child_id, principal.scope_prefix,
                                             school_id=principal.school_scope)
    if row is None:
        raise not_found("child")
    if row["version"] != version:
        raise stale(row["version"])
    if row["erased_at"] is not None:
        raise Refusal(409, "conflict", "档案已按保存期限匿名化，不能再修改 / the record was anonymised when its "
                                       "retention period ended; it can no longer be changed")
    return row, privacy.open_record(row, cipher_of(request))


async def change_record(request: Request, principal: Principal, child_id: UUID, version: int,
                        change: Callable[[domain.NewChild], domain.NewChild]) -> JSONResponse:
    """An edit of an open record at `version`: `change` returns the edited record; the
    rules are checked, the record written with its ChildUpdated event, the masked view answered."""
    try:
        async with request.app.state.pool.acquire() as conn:
            async with conn.transaction():
                row, child = await load_for_change(request, principal, conn, child_id, version)
                if row["status"] == "closed":
                    raise Refusal(409, "conflict",
                                  "档案已结案，请先重新启用再修改 / the record is closed; reopen it before editing")
                changed = change(child)
                event = domain.update(changed, status=row["status"], new_version=version + 1, today=today(request))
                written = await write_record(request, principal, conn, changed, event, version)
            return await _answer(request, conn, written)
    except api_duplicates.NationalIdTaken as taken:
        await api_duplicates.answer(request, principal, taken)


@router.patch("/children/{child_id}", response_model=ChildOut)
async def update_child(child_id: UUID, body: ChildPatch, request: Request, principal: Caller,
                       if_match: IfMatch = None) -> JSONResponse:
    """Changes fields of a record. Send the version you edited (If-Match or body.version):
    if the record changed meanwhile the answer is 412 and nothing is applied. Fields left
    out keep their value, and so do masked values sent back as shown."""
    require_staff(principal)
    version = expected_version(if_match, body.version)
    return await change_record(request, principal, child_id, version, lambda child: _apply_patch(child, body))


@router.post("/children/{child_id}/transfer", response_model=ChildOut)
async def transfer_child(child_id: UUID, body: TransferIn, request: Request, principal: Caller,
                         if_match: IfMatch = None) -> JSONResponse:
    """Moves the child to another school or township of the caller's county (动态管理).
    The record then belongs to the new place; a caller whose scope does not cover it
    no longer sees it."""
    require_staff(principal)
    version = expected_version(if_match, body.version)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row, child = await load_for_change(request, principal, conn, child_id, version)
            await commands.check_places(divisions_of(request), conn, body.jurisdiction)
            await commands.check_school(conn, body.jurisdiction.county_code, body.school_id)
            moved, event = domain.transfer(
                child, status=row["status"], to=body.jurisdiction, to_school_id=body.school_id,
                grade=body.grade, class_name=body.class_name, allowed_county=principal.jurisdiction[:6],
                new_version=version + 1, today=today(request))
            written = await write_record(request, principal, conn, moved, event, version, status="transferred")
        return await _answer(request, conn, written)


@router.post("/children/{child_id}/close", response_model=ChildOut)
async def close_child(child_id: UUID, body: CloseIn, request: Request, principal: Caller,
                      if_match: IfMatch = None) -> JSONResponse:
    """Closes the record (parents returned, aged out, moved away, other). Reopen undoes it."""
    require_staff(principal)
    version = expected_version(if_match, body.version)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row, child = await load_for_change(request, principal, conn, child_id, version)
            event = domain.close(child, status=row["status"], reason=body.reason, new_version=version + 1,
                                 today=today(request))
            written = await write_record(request, principal, conn, child, event, version, status="closed",
                                   close_reason=body.reason, keep_close_reason=False)
        return await _answer(request, conn, written)


@router.post("/children/{child_id}/reopen", response_model=ChildOut)
async def reopen_child(child_id: UUID, body: ReopenIn, request: Request, principal: Caller,
                       if_match: IfMatch = None) -> JSONResponse:
    require_staff(principal)
    version = expected_version(if_match, body.version)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row, child = await load_for_change(request, principal, conn, child_id, version)
            event = domain.reopen(child, status=row["status"], new_version=version + 1, today=today(request))
            written = await write_record(request, principal, conn, child, event, version, status="active",
                                   close_reason=None, keep_close_reason=False)
        return await _answer(request, conn, written)

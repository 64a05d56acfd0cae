"""Registry routes for one child's record: create, read, update, transfer, close, reopen.
Parse, call the domain, store + outbox in one transaction."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse

from services.registry import domain, privacy, store
from services.registry.api_common import (
    cipher_of, expected_version, not_found, require_staff, rule_error, stale, today, unmask_purpose,
)
from services.registry.models import ChildIn, ChildPatch, CloseIn, LawfulBasisIn, ReopenIn, TransferIn
from services.registry.pinyin import search_text
from shared.rules import RuleViolation
from shared import idempotency, outbox
from shared.auth import Principal, require_principal
from shared.contracts.events import Event

router = APIRouter(prefix="/v1", tags=["children"])

Caller = Annotated[Principal, Depends(require_principal)]


def _basis(basis: LawfulBasisIn | None) -> dict[str, Any]:
    if basis is None:
        return dict(domain.STATUTORY_BASIS)
    return basis.model_dump(mode="json")


def _new_child(body: ChildIn) -> domain.NewChild:
    return domain.NewChild(
        id=uuid4(), name=body.name, gender=body.gender, birth_date=body.birth_date,
        jurisdiction=body.jurisdiction, school_id=body.school_id, categories=tuple(dict.fromkeys(body.categories)),
        priority=body.priority, national_id=body.national_id, ethnicity=body.ethnicity,
        household_type=body.household_type, grade=body.grade, class_name=body.class_name, address=body.address,
        left_behind_type=body.left_behind_type,
        sensitive_categories=tuple(sorted(set(body.sensitive_categories))),
        priority_reason=body.priority_reason,
        guardians=tuple(g.model_dump(mode="json") for g in body.guardians),
        parents=tuple(p.model_dump(mode="json") for p in body.parents),
        lawful_basis=_basis(body.lawful_basis),
    )


def _answer(request: Request, row: asyncpg.Record, status_code: int = 200) -> JSONResponse:
    """Writes answer with the masked view: a write never reveals more than was sent."""
    body = privacy.view(row, cipher_of(request), unmask=False).body
    return JSONResponse(body, status_code=status_code, headers={"ETag": f'"{row["version"]}"'})


async def _audit(conn: asyncpg.Connection, principal: Principal, action: str, ids: list[UUID],
                 fields: set[str] | tuple[str, ...], purpose: str) -> None:
    if fields:
        await store.record_sensitive_read(conn, subject=principal.subject, roles=sorted(principal.roles),
                                          action=action, record_ids=ids, fields=sorted(fields), purpose=purpose)


@router.post("/children", status_code=status.HTTP_201_CREATED)
async def register_child(body: ChildIn, request: Request, principal: Caller,
                         idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
                         ) -> JSONResponse:
    """Registers a child (一人一档). Retry with the same `Idempotency-Key` after a timeout."""
    require_staff(principal)
    if not principal.covers(body.jurisdiction.village_code or body.jurisdiction.township_code):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the child's jurisdiction is outside yours")
    child = _new_child(body)
    try:
        event = domain.register(child, today=today(request))
    except RuleViolation as violation:
        rule_error(violation)
    cipher = cipher_of(request)
    values = store.child_values(child, privacy.seal(child, cipher), search_text(child.name),
                                source="api", created_by=principal.subject)
    written: dict[str, Any] = {}

    async def create(conn: asyncpg.Connection) -> tuple[int, Any]:
        try:
            await store.insert_child(conn, values)
        except store.DuplicateNationalId:
            raise HTTPException(status.HTTP_409_CONFLICT, [{
                "field": "body.national_id",
                "reason": "该身份证号已建档 / a record with this national ID already exists"}]) from None
        await outbox.add(conn, event)
        written["row"] = await store.get_child_in_scope(conn, child.id, principal.scope_prefix)
        return status.HTTP_201_CREATED, privacy.view(written["row"], cipher, unmask=False).body

    status_code, response = await idempotency.once(
        request.app.state.pool, principal.subject, idempotency_key,
        idempotency.request_fingerprint(body.model_dump(mode="json")), create)
    # A retry answered from the key has no fresh row to take a version from.
    headers = {"ETag": f'"{written["row"]["version"]}"'} if written else {}
    return JSONResponse(response, status_code=status_code, headers=headers)


@router.get("/children/{child_id}")
async def read_child(child_id: UUID, request: Request, principal: Caller) -> JSONResponse:
    """One record. Sensitive fields are masked unless the caller has `view_sensitive` and
    states a purpose (`X-Purpose` header); such a read is written to the audit trail."""
    require_staff(principal)
    purpose = unmask_purpose(request, principal)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row = await store.get_child_in_scope(conn, child_id, principal.scope_prefix)
            if row is None:
                not_found()
            shown = privacy.view(row, cipher_of(request), unmask=purpose is not None)
            if purpose:
                await _audit(conn, principal, "read", [child_id], shown.revealed, purpose)
    return JSONResponse(shown.body, headers={"ETag": f'"{row["version"]}"'})


def _apply_patch(child: domain.NewChild, patch: ChildPatch) -> domain.NewChild:
    changes: dict[str, Any] = {}
    for name in ("name", "gender", "birth_date", "national_id", "ethnicity", "household_type", "grade",
                 "class_name", "address", "left_behind_type", "priority", "priority_reason"):
        if name in patch.model_fields_set:
            changes[name] = getattr(patch, name)
    if "categories" in patch.model_fields_set:
        changes["categories"] = tuple(dict.fromkeys(patch.categories or ()))
    if "sensitive_categories" in patch.model_fields_set:
        changes["sensitive_categories"] = tuple(sorted(set(patch.sensitive_categories or ())))
    if "guardians" in patch.model_fields_set:
        changes["guardians"] = tuple(g.model_dump(mode="json") for g in patch.guardians or ())
    if "parents" in patch.model_fields_set:
        changes["parents"] = tuple(p.model_dump(mode="json") for p in patch.parents or ())
    if "lawful_basis" in patch.model_fields_set:
        changes["lawful_basis"] = _basis(patch.lawful_basis)
    for required in ("name", "gender", "birth_date"):
        if required in changes and changes[required] is None:
            raise RuleViolation(required, "不能清空 / cannot be removed")
    if changes.get("priority") is False and "priority_reason" not in changes:
        changes["priority_reason"] = None
    return replace(child, **changes)


async def _write(request: Request, principal: Principal, conn: asyncpg.Connection, child: domain.NewChild,
                 event: Event, version: int, **status_change: Any) -> asyncpg.Record:
    cipher = cipher_of(request)
    try:
        row = await store.replace_child(conn, child, privacy.seal(child, cipher), search_text(child.name),
                                        expected_version=version, **status_change)
    except store.DuplicateNationalId:
        raise HTTPException(status.HTTP_409_CONFLICT, [{
            "field": "body.national_id",
            "reason": "该身份证号已被其他档案使用 / another record has this national ID"}]) from None
    if row is None:
        stale()
    await outbox.add(conn, event)
    return row


async def _load(request: Request, principal: Principal, conn: asyncpg.Connection, child_id: UUID,
                version: int) -> tuple[asyncpg.Record, domain.NewChild]:
    row = await store.get_child_in_scope(conn, child_id, principal.scope_prefix)
    if row is None:
        not_found()
    if row["version"] != version:
        stale()
    return row, privacy.open_record(row, cipher_of(request))


@router.patch("/children/{child_id}")
async def update_child(child_id: UUID, body: ChildPatch, request: Request, principal: Caller) -> JSONResponse:
    """Changes fields of a record. Send the version you edited (If-Match or body.version):
    if the record changed meanwhile the answer is 409 and nothing is applied."""
    require_staff(principal)
    version = expected_version(request, body.version)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row, child = await _load(request, principal, conn, child_id, version)
            if row["status"] == "closed":
                raise HTTPException(status.HTTP_409_CONFLICT, "the record is closed; reopen it before editing")
            try:
                changed = _apply_patch(child, body)
                event = domain.update(changed, status=row["status"], new_version=version + 1, today=today(request))
            except RuleViolation as violation:
                rule_error(violation)
            written = await _write(request, principal, conn, changed, event, version)
    return _answer(request, written)


@router.post("/children/{child_id}/transfer")
async def transfer_child(child_id: UUID, body: TransferIn, request: Request, principal: Caller) -> JSONResponse:
    """Moves the child to another school or township of the caller's county (动态管理).
    The record then belongs to the new place; a caller whose scope does not cover it
    no longer sees it."""
    require_staff(principal)
    version = expected_version(request, body.version)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row, child = await _load(request, principal, conn, child_id, version)
            try:
                moved, event = domain.transfer(
                    child, status=row["status"], to=body.jurisdiction, to_school_id=body.school_id,
                    grade=body.grade, class_name=body.class_name, allowed_county=principal.jurisdiction[:6],
                    new_version=version + 1, today=today(request))
            except RuleViolation as violation:
                rule_error(violation)
            written = await _write(request, principal, conn, moved, event, version, status="transferred")
    return _answer(request, written)


@router.post("/children/{child_id}/close")
async def close_child(child_id: UUID, body: CloseIn, request: Request, principal: Caller) -> JSONResponse:
    """Closes the record (parents returned, aged out, moved away, other). Reopen undoes it."""
    require_staff(principal)
    version = expected_version(request, body.version)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row, child = await _load(request, principal, conn, child_id, version)
            try:
                event = domain.close(child, status=row["status"], reason=body.reason, new_version=version + 1,
                                     today=today(request))
            except RuleViolation as violation:
                rule_error(violation)
            written = await _write(request, principal, conn, child, event, version, status="closed",
                                   close_reason=body.reason, keep_close_reason=False)
    return _answer(request, written)


@router.post("/children/{child_id}/reopen")
async def reopen_child(child_id: UUID, body: ReopenIn, request: Request, principal: Caller) -> JSONResponse:
    require_staff(principal)
    version = expected_version(request, body.version)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row, child = await _load(request, principal, conn, child_id, version)
            try:
                event = domain.reopen(child, status=row["status"], new_version=version + 1, today=today(request))
            except RuleViolation as violation:
                rule_error(violation)
            written = await _write(request, principal, conn, child, event, version, status="active",
                                   close_reason=None, keep_close_reason=False)
    return _answer(request, written)

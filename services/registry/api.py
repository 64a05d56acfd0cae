"""Registry routes: parse, call the domain, store + outbox in one transaction."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.registry import domain, store
from shared import idempotency, outbox
from shared.auth import Principal, require_principal
from shared.contracts import Jurisdiction
from shared.contracts.events import PublicCategory

router = APIRouter(prefix="/v1", tags=["children"])

STAFF_ROLES = ("admin", "county_staff", "township_staff", "school_staff")


class ChildIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=50)
    gender: Literal["male", "female"]
    birth_date: date
    jurisdiction: Jurisdiction
    school_id: str | None = Field(default=None, max_length=64)
    categories: list[PublicCategory] = Field(default_factory=list, max_length=10)
    priority: bool = False


class ChildOut(BaseModel):
    id: UUID
    name: str
    gender: str
    birth_date: date
    jurisdiction: Jurisdiction
    school_id: str | None
    categories: list[str]
    priority: bool
    status: str
    version: int


def _require_staff(principal: Principal) -> None:
    if not principal.has_role(*STAFF_ROLES):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the registry is open to staff roles only")


def _child_out(row) -> ChildOut:  # type: ignore[no-untyped-def]
    return ChildOut(
        id=row["id"], name=row["name"], gender=row["gender"], birth_date=row["birth_date"],
        jurisdiction=Jurisdiction(county_code=row["county_code"], township_code=row["township_code"],
                                  village_code=row["village_code"]),
        school_id=row["school_id"], categories=list(row["categories"]), priority=row["priority"],
        status=row["status"], version=row["version"],
    )


@router.post("/children", status_code=status.HTTP_201_CREATED, response_model=ChildOut)
async def register_child(
    body: ChildIn,
    request: Request,
    principal: Annotated[Principal, Depends(require_principal)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    _require_staff(principal)
    where = body.jurisdiction.village_code or body.jurisdiction.township_code
    if not principal.covers(where):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the child's jurisdiction is outside yours")
    new_child = domain.NewChild(
        id=uuid4(), name=body.name, gender=body.gender, birth_date=body.birth_date,
        jurisdiction=body.jurisdiction, school_id=body.school_id, categories=tuple(body.categories),
        priority=body.priority,
    )
    try:
        event = domain.register(new_child, today=datetime.now(timezone.utc).date())
    except domain.RuleViolation as violation:
        raise HTTPException(422, [{"field": f"body.{violation.field}", "reason": violation.reason}]) from None
    fingerprint = idempotency.request_fingerprint(body.model_dump(mode="json"))
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            if idempotency_key is not None:
                stored = await idempotency.begin(conn, principal.subject, idempotency_key, fingerprint)
                if stored is not None:
                    return JSONResponse(stored[1], status_code=stored[0])
            await store.insert_child(conn, new_child, created_by=principal.subject)
            await outbox.add(conn, event)
            row = await store.get_child_in_scope(conn, new_child.id, principal.scope_prefix)
            response = _child_out(row).model_dump(mode="json")
            if idempotency_key is not None:
                await idempotency.remember(conn, principal.subject, idempotency_key, fingerprint, 201, response)
    return JSONResponse(response, status_code=status.HTTP_201_CREATED)


@router.get("/children/{child_id}", response_model=ChildOut)
async def read_child(child_id: UUID, request: Request,
                     principal: Annotated[Principal, Depends(require_principal)]) -> ChildOut:
    _require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        row = await store.get_child_in_scope(conn, child_id, principal.scope_prefix)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such child")
    return _child_out(row)


class ChildPage(BaseModel):
    items: list[ChildOut]
    next_after: UUID | None = Field(description="pass as `after` for the next page; null on the last")


@router.get("/children", response_model=ChildPage)
async def list_children(request: Request, principal: Annotated[Principal, Depends(require_principal)],
                        after: Annotated[UUID | None, Query()] = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> ChildPage:
    """The children in the caller's jurisdiction, a page at a time."""
    _require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        rows = await store.list_children_in_scope(conn, principal.scope_prefix, after=after, limit=limit)
    items = [_child_out(row) for row in rows]
    return ChildPage(items=items, next_after=items[-1].id if len(items) == limit else None)

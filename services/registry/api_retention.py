"""The county's retention policy for children's records (domain_retention.py):
`GET /v1/retention-policy` (staff read it; no row: records are kept for ever) and
`PUT /v1/retention-policy` (county administrators; `If-Match` to replace it). The registry
worker's retention job applies it daily; `shouhu retention --dry-run` counts what it would erase."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from services.registry import store_retention
from services.registry.domain_retention import Policy
from shared.clean_text import CleanInput
from shared.conditional import IfMatch, etag, put_precondition, stale
from shared.routes import Caller, require_roles, require_staff, transaction
from shared.rules import Refusal

router = APIRouter(prefix="/v1", tags=["retention"])


class RetentionPolicyIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    years_after_closing: int | None = Field(
        default=None, ge=0, le=100, description="years a closed record is kept after it was closed; null: for ever")
    years_after_adulthood: int | None = Field(
        default=None, ge=0, le=100, description="years a record is kept after the child turned 18; null: for ever")
    action: Literal["purge", "anonymise"] = Field(
        default="anonymise", description="anonymise: clear the personal fields, keep the record; purge: delete it")


class RetentionPolicyOut(RetentionPolicyIn):
    version: int | None = None
    updated_by: str | None = None
    updated_at: str | None = None


def _out(row: Any) -> dict[str, Any]:
    if row is None:
        return {"years_after_closing": None, "years_after_adulthood": None, "action": "anonymise", "version": None,
                "updated_by": None, "updated_at": None}
    return {"years_after_closing": row["years_after_closing"], "years_after_adulthood": row["years_after_adulthood"],
            "action": row["action"], "version": row["version"], "updated_by": row["updated_by"],
            "updated_at": row["updated_at"].isoformat()}


def _answer(row: Any) -> JSONResponse:
    return JSONResponse(_out(row), headers={"ETag": etag(row["version"])} if row is not None else {})


@router.get("/retention-policy", response_model=RetentionPolicyOut)
async def read_policy(request: Request, principal: Caller) -> JSONResponse:
    require_staff(principal)
    async with request.app.state.pool.acquire() as conn:
        return _answer(await store_retention.get_policy(conn))


@router.put("/retention-policy", response_model=RetentionPolicyOut)
async def set_policy(body: RetentionPolicyIn, request: Request, principal: Caller,
                     if_match: IfMatch = None) -> JSONResponse:
    """Who decides how long children's records are kept is the county: an administrator or
    county staff with a county-wide (or wider) jurisdiction."""
    require_roles(principal, "admin", "county_staff")
    if len(principal.scope_prefix) > 6:
        raise Refusal(403, "forbidden", "the retention policy is set county-wide / 保存期限由县级设置")
    check = put_precondition(if_match)
    policy = Policy(body.years_after_closing, body.years_after_adulthood, body.action)
    async with transaction(request) as conn:
        current = await store_retention.get_policy(conn)
        check(None if current is None else current["version"])
        row = await store_retention.set_policy(
            conn, policy, scope=principal.jurisdiction, updated_by=principal.subject,
            updated_at=request.app.state.settings.clock.now(),
            expected_version=None if current is None else current["version"])
        if row is None:  # another administrator wrote first, between the read and the write
            raise stale()
    return _answer(row)

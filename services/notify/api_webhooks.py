"""Webhook subscriptions: other government systems receive a county's events as signed
CloudEvents. The URL and the shared secret are encrypted at rest and never returned."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from services.notify import store_admin
from services.notify.api_admin import Code12, idempotent
from services.notify.api_common import ADMIN_ROLES, in_scope, require_roles
from services.notify.domain_delivery import AddressError, check_webhook_url
from services.notify.encrypted_columns import WEBHOOK_SECRET, WEBHOOK_URL
from services.notify.api_models import WebhookOut
from shared.auth import Principal, require_principal
from shared.pagination import Page, Paging
from shared.clean_text import CleanInput
from shared.contracts import ALL_EVENTS
from shared.conditional import IdempotencyKey
from shared.rules import RuleViolation

router = APIRouter(prefix="/v1", tags=["webhooks"])

WEBHOOK_EVENT_TYPES = tuple(cls.name for cls in ALL_EVENTS if not cls.name.startswith("Notification"))
WebhookEvent = Literal[WEBHOOK_EVENT_TYPES]  # type: ignore[valid-type]


class WebhookIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    county_code: Code12
    url: str = Field(max_length=2000)
    secret: str = Field(min_length=16, max_length=200, description="shared secret for the HMAC signature")
    event_types: list[WebhookEvent] = Field(min_length=1)


@router.post("/webhook-subscriptions", status_code=201, response_model=WebhookOut)
async def create_webhook(request: Request, body: WebhookIn, principal: Annotated[Principal, Depends(require_principal)],
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Another system subscribes to events of a county, delivered as signed CloudEvents."""
    require_roles(principal, *ADMIN_ROLES)
    in_scope(principal, body.county_code)
    try:
        check_webhook_url(body.url, allow_loopback_http=request.app.state.settings.allow_loopback_http)
    except AddressError as exc:
        raise RuleViolation("body.url", str(exc)) from exc
    cipher = request.app.state.cipher

    async def create(conn: Any) -> dict[str, Any]:
        sid = uuid.uuid4()
        row = await store_admin.insert_webhook(
            conn, sid, body.county_code, cipher.encrypt(body.url, context=WEBHOOK_URL.context(sid)),
            cipher.encrypt(body.secret, context=WEBHOOK_SECRET.context(sid)), sorted(set(body.event_types)))
        return dict(row)

    return await idempotent(request, principal, idempotency_key, body, 201, create)


@router.get("/webhook-subscriptions", response_model=Page[WebhookOut])
async def list_webhooks(request: Request, principal: Annotated[Principal, Depends(require_principal)],
                        page: Paging) -> dict[str, Any]:
    """A short list (a few per county), oldest first."""
    require_roles(principal, *ADMIN_ROLES)
    async with request.app.state.pool.acquire() as conn:
        return page.of_sequence([dict(row) for row in await store_admin.list_webhooks(conn, principal.scope_prefix)])


@router.delete("/webhook-subscriptions/{subscription_id}", status_code=204)
async def delete_webhook(request: Request, subscription_id: UUID,
                         principal: Annotated[Principal, Depends(require_principal)]) -> Response:
    require_roles(principal, *ADMIN_ROLES)
    async with request.app.state.pool.acquire() as conn:
        if not await store_admin.deactivate_webhook(conn, subscription_id, principal.scope_prefix):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return Response(status_code=204)

"""Webhook subscriptions: other government systems receive a county's events as signed
CloudEvents. The URL and the shared secret are encrypted at rest and never returned."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from services.notify import commands, store_admin
from services.notify.api_admin import Code12
from shared.routes import ADMIN_ROLES, Caller, Cipher, Idempotent, require_roles
from shared.scope import not_found, require_in_scope
from services.notify.domain_delivery import AddressError, check_webhook_url
from services.notify.api_models import WebhookOut
from shared.pagination import Page, Paging
from shared.clean_text import CleanInput
from shared.contracts import ALL_EVENTS
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
async def create_webhook(request: Request, body: WebhookIn, principal: Caller, once: Idempotent,
                         cipher: Cipher) -> JSONResponse:
    """Another system subscribes to events of a county, delivered as signed CloudEvents."""
    require_roles(principal, *ADMIN_ROLES)
    require_in_scope(principal, body.county_code)
    try:
        check_webhook_url(body.url, allow_loopback_http=request.app.state.settings.allow_loopback_http)
    except AddressError as exc:
        raise RuleViolation("body.url", str(exc)) from exc

    async def create(conn: Any) -> tuple[int, dict[str, Any]]:
        return 201, dict(await commands.add_webhook(conn, cipher, county_code=body.county_code, url=body.url,
                                                    secret=body.secret, event_types=list(body.event_types)))

    return await once.answer(body, create)


@router.get("/webhook-subscriptions", response_model=Page[WebhookOut])
async def list_webhooks(request: Request, principal: Caller,
                        page: Paging) -> dict[str, Any]:
    """A short list (a few per county), oldest first."""
    require_roles(principal, *ADMIN_ROLES)
    async with request.app.state.pool.acquire() as conn:
        return page.of_sequence([dict(row) for row in await store_admin.list_webhooks(conn, principal.scope_prefix)])


@router.delete("/webhook-subscriptions/{subscription_id}", status_code=204)
async def delete_webhook(request: Request, subscription_id: UUID,
                         principal: Caller) -> Response:
    require_roles(principal, *ADMIN_ROLES)
    async with request.app.state.pool.acquire() as conn:
        if not await store_admin.deactivate_webhook(conn, subscription_id, principal.scope_prefix):
            raise not_found()
    return Response(status_code=204)

"""The delivery log staff query, and sending a dead letter again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from services.notify import store_delivery
from shared.scope import not_found
from shared.routes import Caller, ADMIN_ROLES, STAFF_ROLES, require_roles
from services.notify.api_models import DeliveryCount, DeliveryOut, Requeued
from shared.contracts.events import DeliveryChannel, RecipientKind
from shared.pagination import Page, PageRequest, Paging, paged
from shared.scope import require_school_filter
from shared.rules import Refusal

router = APIRouter(prefix="/v1", tags=["deliveries"])

Status = Literal["pending", "sending", "sent", "failed", "dead", "held"]
Channel = DeliveryChannel
Kind = RecipientKind


@router.get("/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    request: Request,
    principal: Caller,
    page: Annotated[PageRequest, Depends(paged(default=100, maximum=1000))],
    status_: Annotated[Status | None, Query(alias="status")] = None,
    channel: Annotated[Channel | None, Query()] = None,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
    recipient_kind: Annotated[Kind | None, Query()] = None,
    child_id: Annotated[UUID | None, Query()] = None,
    source_event_id: Annotated[UUID | None, Query()] = None,
    since: Annotated[datetime | None, Query()] = None,
    school_id: Annotated[str | None, Query(min_length=1, max_length=64,
                                           description="messages about this school's children")] = None,
    caregiver_id: Annotated[UUID | None, Query(description="messages to this caregiver and escalations of "
                                                           "their duties")] = None,
) -> dict[str, Any]:
    """What was sent, to which kind of recipient, on which channel, with what outcome —
    within the caller's jurisdiction (a school's staff: their school), newest first. No
    addresses and no message text."""
    require_roles(principal, *STAFF_ROLES)
    require_school_filter(principal, "school_id", school_id)
    filters = {"status": status_, "channel": channel, "event_type": event_type, "recipient_kind": recipient_kind,
               "child_id": child_id, "source_event_id": source_event_id, "since": since, "school_id": school_id,
               "caregiver_id": caregiver_id}
    async with request.app.state.pool.acquire() as conn:
        rows = await store_delivery.delivery_log(conn, scope_prefix=principal.scope_prefix,
                                                 school_scope=principal.school_scope, filters=filters,
                                                 limit=page.fetch, after=page.after(datetime, UUID))
    return page.keyset([dict(row) for row in rows], key=lambda row: (row["created_at"], row["id"]))


@router.get("/deliveries/summary", response_model=Page[DeliveryCount])
async def delivery_summary(request: Request, principal: Caller,
                           page: Paging, since: Annotated[datetime | None, Query()] = None) -> dict[str, Any]:
    """Counts per channel and status in the caller's jurisdiction (what is stuck, what died),
    with the oldest of each: the first thing to look at when messages seem not to arrive."""
    require_roles(principal, *STAFF_ROLES)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_delivery.delivery_summary(conn, scope_prefix=principal.scope_prefix,
                                                     school_id=principal.school_scope, since=since)
    return page.of_sequence([dict(row) for row in rows])


@router.get("/deliveries/{notification_id}", response_model=DeliveryOut)
async def get_delivery(request: Request, notification_id: UUID,
                       principal: Caller) -> dict[str, Any]:
    require_roles(principal, *STAFF_ROLES)
    async with request.app.state.pool.acquire() as conn:
        row = await store_delivery.get_delivery(conn, notification_id, principal.scope_prefix, principal.school_scope)
    if row is None:
        raise not_found()
    return dict(row)


@router.post("/deliveries/{notification_id}/retry", response_model=Requeued)
async def retry_delivery(request: Request, notification_id: UUID,
                         principal: Caller) -> dict[str, Any]:
    """Sends a dead or failed message again (after fixing a provider or an address)."""
    require_roles(principal, *ADMIN_ROLES)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row = await store_delivery.requeue_dead(conn, notification_id, principal.scope_prefix,
                                                   principal.school_scope, request.app.state.settings.clock.now())
    if row is None:
        raise Refusal(404, "not_found", "no dead or failed delivery with this id in your scope")
    return {"id": row["id"], "status": row["status"]}

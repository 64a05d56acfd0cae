"""A contact's photos (at most three, each ≤ 300 KB, made small on the phone), sealed with the
field cipher. Stored by whoever logged the contact; listed for anyone who may see the contact;
read back by the caregiver who logged it, a caregiver paired with the child, or staff in scope
with `view_sensitive` who state why (`X-Purpose`; the read and its reason are recorded).
Photos are never put in events or logs."""

from __future__ import annotations

import base64
from typing import Annotated, Any
from uuid import UUID, uuid4
from datetime import datetime

from fastapi import APIRouter, Header, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.visits import store, store_photos
from services.visits.api import visible_contact
from services.visits.encrypted_columns import CONTACT_PHOTO
from shared import audit
from shared.pagination import Page, Paging
from shared.purpose import RELATION_PURPOSES, StatedPurpose, clear_purpose
from shared.rules import Refusal, RuleViolation
from shared.routes import Caller, caregiver_of, is_staff

router = APIRouter(prefix="/v1", tags=["photos"])

MAX_PHOTO_BYTES = 300 * 1024
# The first bytes of each accepted format: the Content-Type alone proves nothing.
SIGNATURES = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",), "image/webp": (b"RIFF",)}
Slot = Annotated[int, Path(ge=1, le=3, description="1, 2 or 3")]


class PhotoOut(BaseModel):
    """Which slot holds a photo, of what kind and size (never the photo itself)."""
    slot: int
    content_type: str
    size_bytes: int
    stored_at: datetime


def _photo_out(row: Any) -> dict[str, Any]:
    return {"slot": row["slot"], "content_type": row["content_type"], "size_bytes": row["size_bytes"],
            "stored_at": row["stored_at"].isoformat()}


async def _image(request: Request, content_type: str | None) -> tuple[str, bytes]:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in SIGNATURES:
        raise RuleViolation("header.Content-Type", "must be image/jpeg, image/png or image/webp")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_PHOTO_BYTES:
        raise RuleViolation("photo", f"at most {MAX_PHOTO_BYTES} bytes", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > MAX_PHOTO_BYTES:
            raise RuleViolation("photo", f"at most {MAX_PHOTO_BYTES} bytes", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if not data or not bytes(data).startswith(SIGNATURES[kind]) or (kind == "image/webp" and data[8:12] != b"WEBP"):
        raise RuleViolation("photo", f"is not a {kind} image")
    return kind, bytes(data)


@router.put("/contacts/{contact_id}/photos/{slot}", status_code=status.HTTP_201_CREATED, response_model=PhotoOut,
            responses={200: {"description": "this slot already holds this photo; nothing changed",
                             "model": PhotoOut},
                       403: {"description": "only whoever logged the contact adds its photos"},
                       404: {"description": "no such contact (that you may see)"},
                       409: {"description": "this slot holds another photo"},
                       413: {"description": "larger than 300 KB"}},
            openapi_extra={"requestBody": {"required": True, "content": {
                kind: {"schema": {"type": "string", "format": "binary"}} for kind in SIGNATURES}}})
async def put_photo(contact_id: UUID, slot: Slot, request: Request,
                    principal: Caller,
                    content_type: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Idempotent per slot: sending the same photo again (an offline phone's resend) answers 200."""
    kind, data = await _image(request, content_type)
    settings, cipher = request.app.state.settings, request.app.state.cipher
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        contact = await store.get_contact(conn, contact_id)
        if not await visible_contact(conn, principal, contact, settings.clock.today()):
            raise Refusal(404, "not_found", "no such contact")
        if contact["logged_by"] != principal.subject and caregiver_of(principal) != contact["caregiver_id"]:
            raise Refusal(403, "forbidden", "only whoever logged the contact adds its photos")
        existing = await store_photos.get_photo(conn, contact_id, slot)
        if existing is None:
            photo_id = uuid4()
            sealed = cipher.encrypt(base64.b64encode(data).decode(), context=CONTACT_PHOTO.context(photo_id))
            stored = await store_photos.insert_photo(
                conn, photo_id=photo_id, contact_id=contact_id, slot=slot, content_type=kind, size_bytes=len(data),
                photo_enc=sealed, stored_by=principal.subject, stored_at=settings.clock.now())
            existing = await store_photos.get_photo(conn, contact_id, slot)
            if stored:
                return JSONResponse(_photo_out(existing), status_code=status.HTTP_201_CREATED)
        same = base64.b64decode(cipher.decrypt(existing["photo_enc"], context=CONTACT_PHOTO.context(existing["id"])))
        if same != data:
            raise Refusal(409, "conflict", "this slot holds another photo")
        return JSONResponse(_photo_out(existing), status_code=status.HTTP_200_OK)


@router.get("/contacts/{contact_id}/photos", response_model=Page[PhotoOut])
async def list_photos(contact_id: UUID, request: Request,
                      principal: Caller, page: Paging) -> dict[str, Any]:
    """Which slots hold a photo (never the photos), by slot: at most three, so one page."""
    async with request.app.state.pool.acquire() as conn:
        contact = await store.get_contact(conn, contact_id)
        if not await visible_contact(conn, principal, contact, request.app.state.settings.clock.today()):
            raise Refusal(404, "not_found", "no such contact")
        rows = await store_photos.list_photos(conn, contact_id)
    return page.of_sequence([_photo_out(row) for row in rows])


@router.get("/contacts/{contact_id}/photos/{slot}", response_class=Response,
            responses={200: {"content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in SIGNATURES}},
                       403: {"description": "staff need view_sensitive and a stated purpose (X-Purpose)"}})
async def get_photo(contact_id: UUID, slot: Slot, request: Request,
                    principal: Caller,
                    stated: StatedPurpose = None) -> Response:
    today = request.app.state.settings.clock.today()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        contact = await store.get_contact(conn, contact_id)
        if not await visible_contact(conn, principal, contact, today):
            raise Refusal(404, "not_found", "no such contact")
        # A caregiver who may see the contact logged it or is paired with the child now.
        if is_staff(principal):
            purpose = clear_purpose(stated, principal)
            if purpose is None:
                raise Refusal(403, "forbidden", "a photo is shown to staff with view_sensitive who state why")
        else:
            purpose = RELATION_PURPOSES["paired_caregiver"]
        photo = await store_photos.get_photo(conn, contact_id, slot)
        if photo is None:
            raise Refusal(404, "not_found", "no photo in this slot")
        await audit.record_principal_read(conn, principal, action="read", record_kind="contact_photo",
                                          record_ids=[photo["id"]], fields={"photo"}, purpose=purpose)
    data = base64.b64decode(request.app.state.cipher.decrypt(photo["photo_enc"], context=CONTACT_PHOTO.context(photo["id"])))
    return Response(data, media_type=photo["content_type"], headers={"Cache-Control": "private, no-store"})

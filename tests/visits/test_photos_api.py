"""A contact's photos: stored sealed, resent without a second copy, refused when too large or
not an image, read back only by the paired caregiver or by staff with view_sensitive who say
why (the read recorded), and never in an event."""

from __future__ import annotations

import uuid
from urllib.parse import quote
from datetime import datetime

import pytest

from services.visits.api_photos import MAX_PHOTO_BYTES
from tests.visits.harness import Harness, caregiver, county_staff, earlier_today

pytestmark = pytest.mark.clock

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + bytes(range(256)) * 40 + b"\xff\xd9"


async def _contact(harness: Harness) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    child_id = await harness.child()
    _, me = await harness.pair(child_id)
    contact_id = uuid.uuid4()
    response = await harness.client.post("/v1/contacts", headers=caregiver(me), json={
        "id": str(contact_id), "child_id": str(child_id), "caregiver_id": str(me), "kind": "home_visit",
        "occurred_at": earlier_today(1).isoformat()})
    assert response.status_code == 201, response.text
    return child_id, me, contact_id


def _jpeg(me: uuid.UUID) -> dict[str, str]:
    return {**caregiver(me), "Content-Type": "image/jpeg"}


async def test_a_photo_is_stored_sealed_once_and_read_back_by_the_caregiver(harness: Harness) -> None:
    _, me, contact_id = await _contact(harness)
    url = f"/v1/contacts/{contact_id}/photos/1"
    first = await harness.client.put(url, content=JPEG, headers=_jpeg(me))
    assert first.status_code == 201, first.text
    assert first.json()["size_bytes"] == len(JPEG)
    again = await harness.client.put(url, content=JPEG, headers=_jpeg(me))  # an offline phone's resend
    assert again.status_code == 200
    other = await harness.client.put(url, content=JPEG + b"x", headers=_jpeg(me))
    assert other.status_code == 409

    rows = await harness.fetch("SELECT * FROM contact_photos WHERE contact_id = $1", contact_id)
    assert len(rows) == 1 and rows[0]["photo_enc"].startswith("v1.")
    assert b"JFIF" not in rows[0]["photo_enc"].encode()

    read = await harness.client.get(url, headers=caregiver(me))
    assert read.status_code == 200 and read.content == JPEG and read.headers["content-type"] == "image/jpeg"
    assert "no-store" in read.headers["cache-control"]
    listed = await harness.client.get(f"/v1/contacts/{contact_id}/photos", headers=caregiver(me))
    [item] = listed.json()["items"]
    assert listed.json()["next_cursor"] is None and listed.json()["total"] == 1
    assert datetime.fromisoformat(item.pop("stored_at").replace("Z", "+00:00")) == rows[0]["stored_at"]
    assert item == {"slot": 1, "content_type": "image/jpeg", "size_bytes": len(JPEG)}
    outbox = await harness.fetchval("SELECT string_agg(payload::text, '') FROM outbox")
    assert "photo" not in (outbox or "") and "JFIF" not in (outbox or "")


async def test_staff_read_a_photo_only_with_view_sensitive_and_a_reason(harness: Harness) -> None:
    _, me, contact_id = await _contact(harness)
    url = f"/v1/contacts/{contact_id}/photos/2"
    assert (await harness.client.put(url, content=JPEG, headers=_jpeg(me))).status_code == 201

    assert (await harness.client.get(url, headers=county_staff())).status_code == 403
    assert (await harness.client.get(url, headers=county_staff(sensitive=True))).status_code == 403
    purpose = quote("家访核实")  # percent-encoded: headers carry ASCII
    stated = await harness.client.get(url, headers={**county_staff(sensitive=True), "X-Purpose": purpose})
    assert stated.status_code == 200 and stated.content == JPEG
    photo_id = await harness.fetchval("SELECT id FROM contact_photos WHERE contact_id = $1", contact_id)
    reads = await harness.fetch("SELECT purpose FROM read_audit WHERE $1 = ANY(record_ids)", photo_id)
    assert [r["purpose"] for r in reads] == ["家访核实"]

    stranger = uuid.uuid4()
    assert (await harness.client.get(url, headers=caregiver(stranger))).status_code == 404
    assert (await harness.client.put(f"/v1/contacts/{contact_id}/photos/3", content=JPEG,
                                     headers=_jpeg(stranger))).status_code == 404


async def test_too_large_or_not_an_image_is_refused_and_nothing_stored(harness: Harness) -> None:
    _, me, contact_id = await _contact(harness)
    url = f"/v1/contacts/{contact_id}/photos/1"
    large = await harness.client.put(url, content=JPEG[:4] + b"\x00" * MAX_PHOTO_BYTES, headers=_jpeg(me))
    assert large.status_code == 413 and large.json()["errors"][0]["field"] == "body.photo"
    text = await harness.client.put(url, content=b"hello", headers=_jpeg(me))
    assert text.status_code == 422 and text.json()["errors"][0]["field"] == "body.photo"
    gif = await harness.client.put(url, content=JPEG, headers={**caregiver(me), "Content-Type": "image/gif"})
    assert gif.status_code == 422 and gif.json()["errors"][0]["field"] == "header.Content-Type"
    slot = await harness.client.put(f"/v1/contacts/{contact_id}/photos/4", content=JPEG, headers=_jpeg(me))
    assert slot.status_code == 422
    assert await harness.fetchval("SELECT count(*) FROM contact_photos WHERE contact_id = $1", contact_id) == 0

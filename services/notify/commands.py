"""Notify's use cases that routes call: rules + SQL (store*) + encryption, inside the
caller's open transaction (the caller owns it; nothing here commits)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.notify import store_admin
from services.notify.encrypted_columns import STAFF_CONTACTS, WEBHOOK_SECRET, WEBHOOK_URL
from shared.auth import Principal
from shared.crypto import FieldCipher
from shared.rules import Refusal, RuleViolation


def contacts_context(recipient_id: UUID) -> str:
    return STAFF_CONTACTS.context(recipient_id)


async def add_staff_recipient(conn: asyncpg.Connection, cipher: FieldCipher, *, staff_id: str, jurisdiction: str,
                              level: str, school_id: str | None, contacts: dict[str, Any]) -> asyncpg.Record:
    """A staff member who receives escalations and alerts; the addresses encrypted under
    the new recipient's id. 409 when the staff id is already a recipient."""
    recipient_id = uuid.uuid4()
    row = await store_admin.insert_staff(
        conn, recipient_id=recipient_id, staff_id=staff_id, jurisdiction=jurisdiction, level=level,
        school_id=school_id, channels=sorted(contacts),
        contacts_enc=cipher.encrypt(json.dumps(contacts), context=contacts_context(recipient_id)))
    if row is None:
        raise Refusal(409, "staff_id_taken", "this staff_id is already a recipient")
    return row


async def add_shift(conn: asyncpg.Connection, principal: Principal, *, staff_recipient_id: UUID, jurisdiction: str,
                    starts_at: datetime, ends_at: datetime) -> asyncpg.Record:
    """Puts an active staff recipient in the caller's scope on duty for a time window."""
    staff = await store_admin.get_staff(conn, staff_recipient_id)
    if staff is None or not staff["active"] or not principal.covers(staff["jurisdiction"]):
        raise RuleViolation("body.staff_recipient_id", "no such active staff recipient in your scope")
    return await store_admin.insert_shift(conn, uuid.uuid4(), staff_recipient_id, jurisdiction, starts_at, ends_at)


async def add_webhook(conn: asyncpg.Connection, cipher: FieldCipher, *, county_code: str, url: str, secret: str,
                      event_types: list[str]) -> asyncpg.Record:
    """A subscription of another system; its address and signing secret encrypted at rest."""
    sid = uuid.uuid4()
    return await store_admin.insert_webhook(
        conn, sid, county_code, cipher.encrypt(url, context=WEBHOOK_URL.context(sid)),
        cipher.encrypt(secret, context=WEBHOOK_SECRET.context(sid)), sorted(set(event_types)))

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
from shared.conditional import stale
from shared.rules import Refusal, RuleViolation
from shared.scope import not_found


def contacts_context(recipient_id: UUID) -> str:
    return STAFF_CONTACTS.context(recipient_id)


async def add_staff_recipient(conn: asyncpg.Connection, cipher: FieldCipher, *, staff_id: str, jurisdiction: str,
                              level: str, school_id: str | None, contacts: dict[str, Any],
                              updated_by: str = "system") -> asyncpg.Record:
    """A staff member who receives escalations and alerts; the addresses encrypted under
    the new recipient's id. 409 when the staff id is already a recipient."""
    recipient_id = uuid.uuid4()
    row = await store_admin.insert_staff(
        conn, recipient_id=recipient_id, staff_id=staff_id, jurisdiction=jurisdiction, level=level,
        school_id=school_id, channels=sorted(contacts),
        contacts_enc=cipher.encrypt(json.dumps(contacts), context=contacts_context(recipient_id)),
        updated_by=updated_by)
    if row is None:
        raise Refusal(409, "staff_id_taken", "this staff_id is already a recipient")
    return row


async def add_shift(conn: asyncpg.Connection, principal: Principal, *, staff_recipient_id: UUID, jurisdiction: str,
                    starts_at: datetime, ends_at: datetime) -> asyncpg.Record:
    """Puts an active staff recipient in the caller's scope on duty for a time window."""
    await _on_duty_staff(conn, principal, staff_recipient_id)
    return await store_admin.insert_shift(conn, uuid.uuid4(), staff_recipient_id, jurisdiction, starts_at, ends_at,
                                          updated_by=principal.subject)


async def change_shift(conn: asyncpg.Connection, principal: Principal, shift_id: UUID, expected_version: int,
                       changes: dict[str, Any]) -> asyncpg.Record:
    """A shift in the caller's scope with `changes` (staff_recipient_id, jurisdiction, starts_at,
    ends_at) applied; the window checked as a whole, so moving one end past the other is 422.
    404 outside scope, 412 when it changed since `expected_version`."""
    shift = await store_admin.get_shift(conn, shift_id)
    if shift is None or not principal.covers(shift["jurisdiction"]):
        raise not_found()
    recipient_id = changes.get("staff_recipient_id", shift["recipient_id"])
    if recipient_id != shift["recipient_id"]:
        await _on_duty_staff(conn, principal, recipient_id)
    starts_at = changes.get("starts_at", shift["starts_at"])
    ends_at = changes.get("ends_at", shift["ends_at"])
    if ends_at <= starts_at:  # one end moved past the other
        raise RuleViolation("body.ends_at", "结束时间须晚于开始时间 / ends_at must be after starts_at")
    row = await store_admin.update_shift(
        conn, shift_id, expected_version, recipient_id=recipient_id,
        jurisdiction=changes.get("jurisdiction", shift["jurisdiction"]), starts_at=starts_at, ends_at=ends_at,
        updated_by=principal.subject)
    if row is None:
        raise stale(shift["version"])
    return row


async def remove_staff_recipient(conn: asyncpg.Connection, principal: Principal, recipient_id: UUID,
                                 expected_version: int, now: datetime) -> None:
    """Removes a recipient in the caller's scope with their past shifts; 409 while they are on
    duty or rostered (their shifts go first), 412 when changed since `expected_version`."""
    staff = await store_admin.get_staff(conn, recipient_id)
    if staff is None or not principal.covers(staff["jurisdiction"]):
        raise not_found()
    outcome = await store_admin.delete_staff(conn, recipient_id, expected_version, now)
    if outcome == "stale":
        raise stale(staff["version"])
    if outcome == "on_duty":
        raise Refusal(409, "recipient_on_duty", "该接收人仍有值班安排，请先删除或改派其值班 / the recipient has "
                                                "current or future shifts: remove or reassign them first")


async def _on_duty_staff(conn: asyncpg.Connection, principal: Principal, staff_recipient_id: UUID) -> None:
    staff = await store_admin.get_staff(conn, staff_recipient_id)
    if staff is None or not staff["active"] or not principal.covers(staff["jurisdiction"]):
        raise RuleViolation("body.staff_recipient_id", "no such active staff recipient in your scope")


async def add_webhook(conn: asyncpg.Connection, cipher: FieldCipher, *, county_code: str, url: str, secret: str,
                      event_types: list[str]) -> asyncpg.Record:
    """A subscription of another system; its address and signing secret encrypted at rest."""
    sid = uuid.uuid4()
    return await store_admin.insert_webhook(
        conn, sid, county_code, cipher.encrypt(url, context=WEBHOOK_URL.context(sid)),
        cipher.encrypt(secret, context=WEBHOOK_SECRET.context(sid)), sorted(set(event_types)))

"""Families' use cases, inside the caller's transaction: consent recorded, a note written and
its SMS planned, a reply recorded (and an opt-out by reply honoured).

A note is one `family_notes` row (its text encrypted) and one `notifications` row for the
SMS, planned like any other message: recipient kind `guardian`, recipient id the registry's
entry id of the guardian or parent, the county's guardian quiet hours (the delivery loop
holds it until they end), and sent once. The text is composed in from the note's row when the
SMS is sent (services/notify/delivery.py), never stored in the message's variables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

import asyncpg

from services.notify import domain, store, store_family
from services.notify.config import NotifySettings
from services.notify.domain_delivery import parse_quiet_hours, quiet_until
from services.notify.domain_family import DEFAULT_WORDS, is_opt_out, stigmatising_words
from services.notify.encrypted_columns import FAMILY_NOTE, FAMILY_REPLY
from shared.crypto import FieldCipher
from shared.rules import Refusal, RuleViolation

NOTE_TEMPLATE = "family_note"
NOTE_EVENT = "FamilyNote"
NOTE_VARIABLE = "note"
_REPLY_NAMESPACE = UUID("0b6c7f2e-3a51-4d0c-9c84-6f1d2e8a7b31")


async def words_for(conn: asyncpg.Connection, county_code: str) -> list[str]:
    saved = await store_family.words_of(conn, county_code)
    return list(saved["words"]) if saved else list(DEFAULT_WORDS)


async def check_note(conn: asyncpg.Connection, county_code: str, text: str) -> list[str]:
    return stigmatising_words(text, await words_for(conn, county_code))


async def record_consent(conn: asyncpg.Connection, *, child_id: UUID, member_id: UUID, member_kind: str,
                         opted_in: bool, how: str, recorded_by: str, at: datetime) -> asyncpg.Record:
    existing = await store_family.consent(conn, child_id, member_id)
    if existing is not None and existing["member_kind"] != member_kind:
        raise RuleViolation("body.member_kind", f"this entry is a {existing['member_kind']}")
    return await store_family.record_consent(conn, child_id=child_id, member_id=member_id, member_kind=member_kind,
                                             opted_in=opted_in, how=how, recorded_by=recorded_by, at=at)


async def send_note(conn: asyncpg.Connection, settings: NotifySettings, cipher: FieldCipher, *,
                    child: asyncpg.Record, member_id: UUID, text: str, caregiver_id: UUID | None,
                    written_by: str, now: datetime) -> dict[str, Any]:
    """The note stored and its SMS planned; 422 naming the county's words it contains, 409 when
    the member has not opted in (or has opted out)."""
    found = await check_note(conn, child["county_code"], text)
    if found:
        raise RuleViolation("body.text", "含有不宜对家人使用的词语 / contains words not to be used with families: "
                                         + "、".join(found))
    consent = await store_family.consent(conn, child["id"], member_id)
    if consent is None or not consent["opted_in"]:
        raise Refusal(409, "not_opted_in", "这位家人还没有同意接收短信（或已退订） / this family member has not "
                                           "agreed to receive messages, or has opted out")
    note_id = uuid4()
    await store_family.insert_note(
        conn, note_id=note_id, child_id=child["id"], member_id=member_id, member_kind=consent["member_kind"],
        caregiver_id=caregiver_id, written_by=written_by,
        body_enc=cipher.encrypt(text, context=FAMILY_NOTE.context(note_id)),
        county_code=child["county_code"], township_code=child["township_code"], at=now)
    quiet = await _quiet_hours(conn, settings, str(member_id))
    variables = {"caregiver_id": str(caregiver_id)} if caregiver_id else {}
    planned = domain.PlannedNotification(
        id=domain.notification_id(note_id, "guardian", str(member_id), "sms"), source_event_id=note_id,
        event_type=NOTE_EVENT, recipient_kind="guardian", recipient_id=str(member_id), channel="sms",
        template=NOTE_TEMPLATE, child_id=child["id"], variables=variables, urgent=False,
        quiet_start=quiet[0] if quiet else None, quiet_end=quiet[1] if quiet else None,
        quiet_timezone=quiet[2] if quiet else None)
    await store.insert_notification(conn, planned, dict(child), delivered_in_app=False, now=now)
    waits_until = quiet_until(now, *quiet) if quiet else None
    return {"id": note_id, "notification_id": planned.id, "child_id": child["id"], "member_id": member_id,
            "member_kind": consent["member_kind"], "status": "pending", "created_at": now,
            "waits_until": waits_until}


async def _quiet_hours(conn: asyncpg.Connection, settings: NotifySettings,
                       member_id: str) -> tuple[Any, Any, str] | None:
    """The member's own quiet hours if recorded, else the county's for guardians."""
    prefs = (await store.preferences_for(conn, "guardian", [member_id])).get(member_id)
    if prefs is not None and prefs.quiet_start is not None and prefs.quiet_end is not None:
        return prefs.quiet_start, prefs.quiet_end, prefs.timezone
    default = parse_quiet_hours(settings.quiet_hours_guardian)
    return (default[0], default[1], settings.county_timezone) if default else None


async def record_reply(conn: asyncpg.Connection, cipher: FieldCipher, *, provider_id: str, notification_id: UUID,
                       text: str, received_at: datetime) -> bool | None:
    """None: not a message to a family (nothing recorded); False: recorded before; True: new.
    An opt-out word (退订, TD) also records the member's opt-out, `by_reply`."""
    message = await store_family.family_message(conn, notification_id)
    if message is None:
        return None
    reply_id = uuid5(_REPLY_NAMESPACE, provider_id)
    member_id = UUID(message["recipient_id"])
    opted_out = is_opt_out(text)
    new = await store_family.insert_reply(
        conn, reply_id=reply_id, notification_id=notification_id, child_id=message["child_id"], member_id=member_id,
        text_enc=cipher.encrypt(text, context=FAMILY_REPLY.context(reply_id)), received_at=received_at,
        opted_out=opted_out)
    if new and opted_out:
        consent = await store_family.consent(conn, message["child_id"], member_id)
        if consent is not None:
            await store_family.record_consent(
                conn, child_id=message["child_id"], member_id=member_id, member_kind=consent["member_kind"],
                opted_in=False, how="by_reply", recorded_by="sms-reply", at=received_at)
    return new

"""SQL for families: pairings seen here, consents, notes, replies and the county's word list."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence
from uuid import UUID

import asyncpg

from shared.conditional import Precondition


# -- pairings (projection of pairing's events) ---------------------------------------------

async def set_pairing(conn: asyncpg.Connection, child_id: UUID, caregiver_id: UUID, active: bool) -> None:
    await conn.execute(
        """INSERT INTO family_pairings (child_id, caregiver_id, active) VALUES ($1, $2, $3)
           ON CONFLICT (child_id, caregiver_id) DO UPDATE SET active = EXCLUDED.active""",
        child_id, caregiver_id, active)


async def is_paired(conn: asyncpg.Connection, child_id: UUID, caregiver_id: UUID) -> bool:
    return bool(await conn.fetchval(
        "SELECT active FROM family_pairings WHERE child_id = $1 AND caregiver_id = $2", child_id, caregiver_id))


# -- consents -------------------------------------------------------------------------------

async def consents(conn: asyncpg.Connection, child_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT child_id, member_id, member_kind, opted_in, how, recorded_by, recorded_at, version
           FROM family_consents WHERE child_id = $1 ORDER BY recorded_at, member_id""", child_id)


async def consent(conn: asyncpg.Connection, child_id: UUID, member_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT child_id, member_id, member_kind, opted_in, how, recorded_by, recorded_at, version
           FROM family_consents WHERE child_id = $1 AND member_id = $2""", child_id, member_id)


async def record_consent(conn: asyncpg.Connection, *, child_id: UUID, member_id: UUID, member_kind: str,
                         opted_in: bool, how: str, recorded_by: str, at: datetime) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO family_consents (child_id, member_id, member_kind, opted_in, how, recorded_by, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (child_id, member_id) DO UPDATE
              SET member_kind = EXCLUDED.member_kind, opted_in = EXCLUDED.opted_in, how = EXCLUDED.how,
                  recorded_by = EXCLUDED.recorded_by, recorded_at = EXCLUDED.recorded_at,
                  version = family_consents.version + 1
           RETURNING child_id, member_id, member_kind, opted_in, how, recorded_by, recorded_at, version""",
        child_id, member_id, member_kind, opted_in, how, recorded_by, at)


async def opted_in_members(conn: asyncpg.Connection, child_id: UUID) -> list[str]:
    rows = await conn.fetch(
        "SELECT member_id FROM family_consents WHERE child_id = $1 AND opted_in ORDER BY member_id", child_id)
    return [str(row["member_id"]) for row in rows]


# -- notes ----------------------------------------------------------------------------------

async def insert_note(conn: asyncpg.Connection, *, note_id: UUID, child_id: UUID, member_id: UUID,
                      member_kind: str, caregiver_id: UUID | None, written_by: str, body_enc: str,
                      county_code: str, township_code: str, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO family_notes (id, child_id, member_id, member_kind, caregiver_id, written_by, body_enc,
                                     county_code, township_code, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        note_id, child_id, member_id, member_kind, caregiver_id, written_by, body_enc, county_code,
        township_code, at)


async def notes_of_child(conn: asyncpg.Connection, child_id: UUID, *, limit: int, offset: int) -> list[asyncpg.Record]:
    """Newest first, each with its message's state (the SMS row planned for it)."""
    return await conn.fetch(
        """SELECT f.id, f.child_id, f.member_id, f.member_kind, f.caregiver_id, f.body_enc, f.created_at,
                  n.id AS notification_id, n.status, n.sent_at, n.next_attempt_at, n.last_error,
                  n.quiet_start, n.quiet_end, n.quiet_timezone
           FROM family_notes f
           LEFT JOIN notifications n ON n.source_event_id = f.id AND n.channel = 'sms'
           WHERE f.child_id = $1 ORDER BY f.created_at DESC, f.id LIMIT $2 OFFSET $3""",
        child_id, limit, offset)


async def note_bodies(conn: asyncpg.Connection, note_ids: Sequence[UUID]) -> dict[str, str]:
    rows = await conn.fetch("SELECT id, body_enc FROM family_notes WHERE id = ANY($1::uuid[])", list(note_ids))
    return {str(row["id"]): row["body_enc"] for row in rows}


async def note_facts(conn: asyncpg.Connection, note_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, child_id, member_kind, caregiver_id FROM family_notes WHERE id = $1",
                               note_id)


async def notes_sent(conn: asyncpg.Connection, scope_prefix: str, since: datetime,
                     until: datetime) -> asyncpg.Record:
    """Notes written, sent and waiting in a period, within a jurisdiction (the work summary's figures)."""
    return await conn.fetchrow(
        """SELECT count(*) AS written,
                  count(*) FILTER (WHERE n.status = 'sent') AS sent,
                  count(*) FILTER (WHERE n.status IN ('pending', 'sending')) AS waiting,
                  count(*) FILTER (WHERE n.status IN ('failed', 'dead', 'held')) AS not_delivered,
                  count(DISTINCT f.child_id) AS children
           FROM family_notes f
           LEFT JOIN notifications n ON n.source_event_id = f.id AND n.channel = 'sms'
           WHERE f.township_code LIKE $1 || '%' AND f.created_at >= $2 AND f.created_at < $3""",
        scope_prefix, since, until)


# -- replies --------------------------------------------------------------------------------

async def family_message(conn: asyncpg.Connection, notification_id: UUID) -> asyncpg.Record | None:
    """A message sent to a family member (the only ones a reply is recorded for)."""
    return await conn.fetchrow(
        """SELECT id, child_id, recipient_id FROM notifications
           WHERE id = $1 AND recipient_kind = 'guardian' AND channel = 'sms' AND recipient_id <> child_id::text""",
        notification_id)


async def insert_reply(conn: asyncpg.Connection, *, reply_id: UUID, notification_id: UUID, child_id: UUID,
                       member_id: UUID, text_enc: str, received_at: datetime, opted_out: bool) -> bool:
    """False when this reply (its provider id) was recorded before: the provider posted it again."""
    return bool(await conn.fetchval(
        """INSERT INTO family_replies (id, notification_id, child_id, member_id, text_enc, received_at, opted_out)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING true""",
        reply_id, notification_id, child_id, member_id, text_enc, received_at, opted_out))


async def replies_of_child(conn: asyncpg.Connection, child_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT r.id, r.notification_id, r.member_id, r.text_enc, r.received_at, r.opted_out,
                  n.source_event_id AS note_id
           FROM family_replies r JOIN notifications n ON n.id = r.notification_id
           WHERE r.child_id = $1 ORDER BY r.received_at""", child_id)


# -- the county's words ----------------------------------------------------------------------

async def words_of(conn: asyncpg.Connection, county_code: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT county_code, words, version, updated_at FROM family_words "
                               "WHERE county_code = $1", county_code)


async def put_words(conn: asyncpg.Connection, county_code: str, words: list[str], precondition: Precondition,
                    at: datetime) -> asyncpg.Record:
    existing = await conn.fetchrow("SELECT version FROM family_words WHERE county_code = $1 FOR UPDATE", county_code)
    precondition(existing["version"] if existing else None)
    if existing is None:
        return await conn.fetchrow(
            """INSERT INTO family_words (county_code, words, updated_at) VALUES ($1, $2, $3)
               RETURNING county_code, words, version, updated_at""", county_code, words, at)
    return await conn.fetchrow(
        """UPDATE family_words SET words = $2, version = version + 1, updated_at = $3
           WHERE county_code = $1 RETURNING county_code, words, version, updated_at""", county_code, words, at)

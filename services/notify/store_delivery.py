"""Delivery SQL: claiming due notifications under rate limits, recording outcomes, the log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence
from uuid import UUID

import asyncpg

_RATE_WINDOW = timedelta(minutes=1)


async def sent_in_window(conn: asyncpg.Connection, bucket: str, now: datetime) -> int:
    """Locks the bucket for this transaction (all replicas take turns) and counts its window."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('notify.rate'), hashtext($1))", bucket)
    await conn.execute("DELETE FROM rate_claims WHERE bucket = $1 AND claimed_at <= $2",
                       bucket, now - _RATE_WINDOW * 2)
    return await conn.fetchval("SELECT count(*) FROM rate_claims WHERE bucket = $1 AND claimed_at > $2",
                               bucket, now - _RATE_WINDOW)


async def record_claims(conn: asyncpg.Connection, bucket: str, now: datetime, count: int) -> None:
    if count:
        await conn.execute("INSERT INTO rate_claims (bucket, claimed_at) SELECT $1, $2 FROM generate_series(1, $3)",
                           bucket, now, count)


async def due(conn: asyncpg.Connection, channel: str, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Due rows of one channel, locked; rows another replica holds are skipped, not waited for.
    A 'sending' row whose lease ran out (its worker died mid-send) is due again."""
    return await conn.fetch(
        """SELECT * FROM notifications
            WHERE channel = $1
              AND ((status = 'pending' AND next_attempt_at <= $2) OR (status = 'sending' AND lease_until <= $2))
            ORDER BY urgent DESC, next_attempt_at
            LIMIT $3 FOR UPDATE SKIP LOCKED""",
        channel, now, limit)


async def mark_sending(conn: asyncpg.Connection, ids: Sequence[UUID], now: datetime,
                       lease_s: float) -> list[asyncpg.Record]:
    return await conn.fetch(
        """UPDATE notifications SET status = 'sending', attempts = attempts + 1,
                  lease_until = $2::timestamptz + make_interval(secs => $3), updated_at = now()
            WHERE id = ANY($1::uuid[]) RETURNING *""",
        list(ids), now, lease_s)


async def defer(conn: asyncpg.Connection, ids_until: Sequence[tuple[UUID, datetime]]) -> None:
    await conn.executemany(
        "UPDATE notifications SET status = 'pending', next_attempt_at = $2, updated_at = now() WHERE id = $1",
        ids_until)


async def staff_contacts(conn: asyncpg.Connection, staff_ids: Sequence[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch("SELECT id, staff_id, contacts_enc FROM staff_recipients WHERE staff_id = ANY($1::text[])",
                            list(staff_ids))
    return {row["staff_id"]: row for row in rows}


async def webhook_targets(conn: asyncpg.Connection, ids: Sequence[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT id, url_enc, secret_enc, active FROM webhook_subscriptions WHERE id = ANY($1::uuid[])", list(ids))
    return {str(row["id"]): row for row in rows}


# The outcome is written only if this worker still holds the claim (same attempt number,
# still 'sending'): a worker whose lease expired and was re-claimed must not overwrite.

async def mark_sent(conn: asyncpg.Connection, notification_id: UUID, attempts: int, now: datetime,
                    provider_ref: str | None) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """UPDATE notifications SET status = 'sent', sent_at = $3, lease_until = NULL, last_error = NULL,
                  provider_ref = $4, updated_at = now()
            WHERE id = $1 AND status = 'sending' AND attempts = $2 RETURNING *""",
        notification_id, attempts, now, provider_ref)


async def mark_retry(conn: asyncpg.Connection, notification_id: UUID, attempts: int, next_attempt_at: datetime,
                     reason: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """UPDATE notifications SET status = 'pending', next_attempt_at = $3, lease_until = NULL,
                  last_error = $4, updated_at = now()
            WHERE id = $1 AND status = 'sending' AND attempts = $2 RETURNING *""",
        notification_id, attempts, next_attempt_at, reason)


async def mark_final(conn: asyncpg.Connection, notification_id: UUID, attempts: int, status: str,
                     reason: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """UPDATE notifications SET status = $3, lease_until = NULL, last_error = $4, updated_at = now()
            WHERE id = $1 AND status = 'sending' AND attempts = $2 RETURNING *""",
        notification_id, attempts, status, reason)


def _in_scope(place: str, school: str) -> str:
    """In the caller's place (a code prefix) and, for a school's staff, their school: the two
    parameters' placeholders."""
    return (f"coalesce(village_code, township_code) LIKE {place} || '%'"
            f" AND ({school}::text IS NULL OR school_id = {school})")


async def requeue_dead(conn: asyncpg.Connection, notification_id: UUID, scope_prefix: str, school_id: str | None,
                       now: datetime) -> asyncpg.Record | None:
    """An admin sends a dead letter again (after fixing a provider's credentials, say)."""
    return await conn.fetchrow(
        f"""UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = $4, updated_at = now()
             WHERE id = $1 AND status IN ('dead', 'failed') AND {_in_scope("$2", "$3")}
         RETURNING *""", notification_id, scope_prefix, school_id, now)


_LOG_COLUMNS = """id, source_event_id, event_type, recipient_kind, recipient_id, channel, template, child_id,
                  county_code, township_code, school_id, urgent, status, attempts, next_attempt_at, last_error,
                  created_at, sent_at"""


async def delivery_log(conn: asyncpg.Connection, *, scope_prefix: str, school_scope: str | None,
                       filters: dict[str, Any], limit: int, after: tuple[datetime, UUID] | None) -> list[asyncpg.Record]:
    """Newest first, from after the keyset position `after` (created_at, id). `caregiver_id`
    finds the messages to that caregiver and the escalations of that caregiver's duties."""
    after_at, after_id = after or (None, None)
    caregiver = str(filters["caregiver_id"]) if filters.get("caregiver_id") else None
    return await conn.fetch(
        f"""SELECT {_LOG_COLUMNS} FROM notifications
             WHERE {_in_scope("$1", "$12")}
               AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR channel = $3)
               AND ($4::text IS NULL OR event_type = $4) AND ($5::text IS NULL OR recipient_kind = $5)
               AND ($6::uuid IS NULL OR child_id = $6) AND ($7::uuid IS NULL OR source_event_id = $7)
               AND ($8::timestamptz IS NULL OR created_at >= $8)
               AND ($9::timestamptz IS NULL OR created_at < $9 OR (created_at = $9 AND id > $11::uuid))
               AND ($13::text IS NULL OR school_id = $13)
               AND ($14::text IS NULL OR (recipient_kind = 'caregiver' AND recipient_id = $14)
                    OR variables->>'caregiver_id' = $14)
             ORDER BY created_at DESC, id LIMIT $10""",
        scope_prefix, filters.get("status"), filters.get("channel"), filters.get("event_type"),
        filters.get("recipient_kind"), filters.get("child_id"), filters.get("source_event_id"),
        filters.get("since"), after_at, limit, after_id, school_scope, filters.get("school_id"), caregiver)


async def get_delivery(conn: asyncpg.Connection, notification_id: UUID, scope_prefix: str,
                       school_id: str | None) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT {_LOG_COLUMNS} FROM notifications WHERE id = $1 AND {_in_scope("$2", "$3")}""",
        notification_id, scope_prefix, school_id)


async def delivery_summary(conn: asyncpg.Connection, *, scope_prefix: str, school_id: str | None,
                           since: datetime | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT channel, status, count(*) AS count, min(created_at) AS oldest FROM notifications
             WHERE {_in_scope("$1", "$2")}
               AND ($3::timestamptz IS NULL OR created_at >= $3)
             GROUP BY channel, status ORDER BY channel, status""", scope_prefix, school_id, since)

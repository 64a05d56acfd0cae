"""SQL of the administration API: rules, staff recipients, the duty roster, webhook
subscriptions, templates and preferences. Functions take a connection; callers own transactions."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Sequence
from uuid import UUID

import asyncpg

from shared.conditional import Precondition


# -- routing rules ------------------------------------------------------------------------

async def list_rules(conn: asyncpg.Connection, county_code: str) -> list[asyncpg.Record]:
    """The rules in force for a county: its own where it has them, else the defaults."""
    return await conn.fetch(
        """SELECT DISTINCT ON (event_type, audience) county_code, event_type, audience, template, channels,
                  enabled, version, updated_at, updated_by
             FROM routing_rules WHERE county_code IN ('', $1)
            ORDER BY event_type, audience, county_code DESC""", county_code)


async def get_rule(conn: asyncpg.Connection, county_code: str, event_type: str, audience: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM routing_rules WHERE county_code = $1 AND event_type = $2 AND audience = $3",
        county_code, event_type, audience)


async def put_rule(conn: asyncpg.Connection, county_code: str, event_type: str, audience: str, template: str,
                   channels: Sequence[str], enabled: bool, precondition: Precondition,
                   updated_by: str = "system") -> asyncpg.Record:
    """Creates the county's own rule or replaces it, once `precondition` allows it."""
    existing = await conn.fetchrow(
        """SELECT version FROM routing_rules WHERE county_code = $1 AND event_type = $2 AND audience = $3
            FOR UPDATE""", county_code, event_type, audience)
    precondition(existing["version"] if existing else None)
    if existing is None:
        return await conn.fetchrow(
            """INSERT INTO routing_rules (county_code, event_type, audience, template, channels, enabled, updated_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
            county_code, event_type, audience, template, list(channels), enabled, updated_by)
    return await conn.fetchrow(
        """UPDATE routing_rules SET template = $4, channels = $5, enabled = $6, version = version + 1,
                  updated_at = now(), updated_by = $7
            WHERE county_code = $1 AND event_type = $2 AND audience = $3 RETURNING *""",
        county_code, event_type, audience, template, list(channels), enabled, updated_by)


async def delete_rule(conn: asyncpg.Connection, county_code: str, event_type: str, audience: str,
                      expected_version: int) -> int | None:
    """Removes the county's own rule (the default applies again) when it is at `expected_version`.
    Returns the stored version (the deleted one, or the newer one that refused), None when the
    county has no rule of its own for (event, audience)."""
    current = await conn.fetchval(
        """SELECT version FROM routing_rules WHERE county_code = $1 AND event_type = $2 AND audience = $3
            FOR UPDATE""", county_code, event_type, audience)
    if current == expected_version:
        await conn.execute(
            "DELETE FROM routing_rules WHERE county_code = $1 AND event_type = $2 AND audience = $3",
            county_code, event_type, audience)
    return current


# -- staff recipients ---------------------------------------------------------------------

_STAFF = ("id, staff_id, jurisdiction, level, school_id, channels, active, version, created_at, updated_at, "
          "updated_by")


async def insert_staff(conn: asyncpg.Connection, *, recipient_id: UUID, staff_id: str, jurisdiction: str, level: str,
                       school_id: str | None, channels: Sequence[str], contacts_enc: str,
                       updated_by: str = "system") -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""INSERT INTO staff_recipients (id, staff_id, jurisdiction, level, school_id, channels, contacts_enc,
                                          updated_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (staff_id) DO NOTHING RETURNING {_STAFF}""",
        recipient_id, staff_id, jurisdiction, level, school_id, list(channels), contacts_enc, updated_by)


async def get_staff(conn: asyncpg.Connection, recipient_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_STAFF}, contacts_enc FROM staff_recipients WHERE id = $1", recipient_id)


async def list_staff(conn: asyncpg.Connection, scope_prefix: str, limit: int,
                     after: tuple[str, str] | None = None) -> list[asyncpg.Record]:
    """By place, then staff id, from after the keyset position `after` (jurisdiction, staff_id)."""
    after_place, after_staff = after or (None, None)
    return await conn.fetch(
        f"""SELECT {_STAFF} FROM staff_recipients WHERE jurisdiction LIKE $1 || '%'
               AND ($3::text IS NULL OR (jurisdiction, staff_id) > ($3, $4::text))
             ORDER BY jurisdiction, staff_id LIMIT $2""", scope_prefix, limit, after_place, after_staff)


async def update_staff(conn: asyncpg.Connection, recipient_id: UUID, expected_version: int,
                       changes: dict[str, Any]) -> asyncpg.Record | None:
    columns = [name for name in ("jurisdiction", "level", "school_id", "channels", "contacts_enc", "active",
                                 "updated_by") if name in changes]
    assignments = ", ".join(f"{name} = ${i + 3}" for i, name in enumerate(columns))
    return await conn.fetchrow(
        f"""UPDATE staff_recipients SET {assignments + ', ' if assignments else ''}version = version + 1,
                   updated_at = now()
             WHERE id = $1 AND version = $2 RETURNING {_STAFF}""",
        recipient_id, expected_version, *[changes[name] for name in columns])


async def delete_staff(conn: asyncpg.Connection, recipient_id: UUID, expected_version: int,
                       now: datetime) -> str:
    """Removes a recipient at `expected_version` with the shifts they served (ended before
    `now`); one still on duty or due to be is kept. Answers 'deleted', 'stale' or 'on_duty'."""
    current = await conn.fetchval("SELECT version FROM staff_recipients WHERE id = $1 FOR UPDATE", recipient_id)
    if current != expected_version:
        return "stale"
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM duty_roster WHERE recipient_id = $1 AND ends_at > $2)",
                           recipient_id, now):
        return "on_duty"
    await conn.execute("DELETE FROM duty_roster WHERE recipient_id = $1", recipient_id)
    await conn.execute("DELETE FROM staff_recipients WHERE id = $1", recipient_id)
    return "deleted"


# -- duty roster --------------------------------------------------------------------------

async def insert_shift(conn: asyncpg.Connection, shift_id: UUID, recipient_id: UUID, jurisdiction: str,
                       starts_at: datetime, ends_at: datetime, updated_by: str = "system") -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO duty_roster (id, recipient_id, jurisdiction, starts_at, ends_at, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        shift_id, recipient_id, jurisdiction, starts_at, ends_at, updated_by)


async def get_shift(conn: asyncpg.Connection, shift_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT d.*, s.staff_id FROM duty_roster d JOIN staff_recipients s ON s.id = d.recipient_id
            WHERE d.id = $1 FOR UPDATE OF d""", shift_id)


async def update_shift(conn: asyncpg.Connection, shift_id: UUID, expected_version: int, *, recipient_id: UUID,
                       jurisdiction: str, starts_at: datetime, ends_at: datetime,
                       updated_by: str) -> asyncpg.Record | None:
    """The shift as changed, or None when it is no longer at `expected_version`."""
    return await conn.fetchrow(
        """WITH changed AS (
               UPDATE duty_roster SET recipient_id = $3, jurisdiction = $4, starts_at = $5, ends_at = $6,
                      updated_by = $7, version = version + 1, updated_at = now()
                WHERE id = $1 AND version = $2 RETURNING *)
           SELECT c.*, s.staff_id FROM changed c JOIN staff_recipients s ON s.id = c.recipient_id""",
        shift_id, expected_version, recipient_id, jurisdiction, starts_at, ends_at, updated_by)


async def list_shifts(conn: asyncpg.Connection, scope_prefix: str, at: datetime | None, limit: int,
                      after: tuple[datetime, UUID] | None = None) -> list[asyncpg.Record]:
    """Latest first, from after the keyset position `after` (starts_at, id)."""
    after_at, after_id = after or (None, None)
    return await conn.fetch(
        """SELECT d.*, s.staff_id FROM duty_roster d JOIN staff_recipients s ON s.id = d.recipient_id
            WHERE d.jurisdiction LIKE $1 || '%' AND ($2::timestamptz IS NULL OR (d.starts_at <= $2 AND d.ends_at > $2))
              AND ($4::timestamptz IS NULL OR d.starts_at < $4 OR (d.starts_at = $4 AND d.id > $5::uuid))
            ORDER BY d.starts_at DESC, d.id LIMIT $3""", scope_prefix, at, limit, after_at, after_id)


async def delete_shift(conn: asyncpg.Connection, shift_id: UUID, scope_prefix: str,
                       expected_version: int | None = None) -> bool:
    """Removes a shift in scope (at `expected_version` when one is named)."""
    return bool(await conn.fetchval(
        """DELETE FROM duty_roster WHERE id = $1 AND jurisdiction LIKE $2 || '%'
              AND ($3::integer IS NULL OR version = $3) RETURNING true""", shift_id, scope_prefix, expected_version))


# -- webhook subscriptions ----------------------------------------------------------------

async def insert_webhook(conn: asyncpg.Connection, subscription_id: UUID, county_code: str, url_enc: str,
                         secret_enc: str, event_types: Sequence[str]) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO webhook_subscriptions (id, county_code, url_enc, secret_enc, event_types)
           VALUES ($1, $2, $3, $4, $5) RETURNING id, county_code, event_types, active, version, created_at""",
        subscription_id, county_code, url_enc, secret_enc, list(event_types))


async def list_webhooks(conn: asyncpg.Connection, scope_prefix: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, county_code, event_types, active, version, created_at FROM webhook_subscriptions
            WHERE county_code LIKE $1 || '%' ORDER BY created_at""", scope_prefix)


async def deactivate_webhook(conn: asyncpg.Connection, subscription_id: UUID, scope_prefix: str) -> bool:
    return bool(await conn.fetchval(
        """UPDATE webhook_subscriptions SET active = false, version = version + 1
            WHERE id = $1 AND county_code LIKE $2 || '%' RETURNING true""", subscription_id, scope_prefix))


# -- templates ----------------------------------------------------------------------------

async def list_templates(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM templates ORDER BY template_key, locale, channel")


async def put_template(conn: asyncpg.Connection, key: str, locale: str, channel: str, subject: str | None, body: str,
                       precondition: Precondition) -> asyncpg.Record:
    existing = await conn.fetchrow(
        "SELECT version FROM templates WHERE template_key = $1 AND locale = $2 AND channel = $3 FOR UPDATE",
        key, locale, channel)
    precondition(existing["version"] if existing else None)
    if existing is None:
        return await conn.fetchrow(
            """INSERT INTO templates (template_key, locale, channel, subject, body) VALUES ($1, $2, $3, $4, $5)
               RETURNING *""", key, locale, channel, subject, body)
    return await conn.fetchrow(
        """UPDATE templates SET subject = $4, body = $5, version = version + 1, updated_at = now()
            WHERE template_key = $1 AND locale = $2 AND channel = $3 RETURNING *""",
        key, locale, channel, subject, body)


# -- preferences --------------------------------------------------------------------------

async def get_preferences(conn: asyncpg.Connection, kind: str, recipient_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM recipient_preferences WHERE recipient_kind = $1 AND recipient_id = $2", kind, recipient_id)


async def put_preferences(conn: asyncpg.Connection, kind: str, recipient_id: str, *, channels: Sequence[str] | None,
                          opt_out_non_urgent: bool, quiet_start: time | None, quiet_end: time | None,
                          timezone: str, precondition: Precondition) -> asyncpg.Record:
    existing = await conn.fetchrow(
        "SELECT version FROM recipient_preferences WHERE recipient_kind = $1 AND recipient_id = $2 FOR UPDATE",
        kind, recipient_id)
    precondition(existing["version"] if existing else None)
    return await conn.fetchrow(
        """INSERT INTO recipient_preferences (recipient_kind, recipient_id, channels, opt_out_non_urgent,
                                              quiet_start, quiet_end, timezone)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (recipient_kind, recipient_id) DO UPDATE SET channels = EXCLUDED.channels,
               opt_out_non_urgent = EXCLUDED.opt_out_non_urgent, quiet_start = EXCLUDED.quiet_start,
               quiet_end = EXCLUDED.quiet_end, timezone = EXCLUDED.timezone,
               version = recipient_preferences.version + 1, updated_at = now()
           RETURNING *""",
        kind, recipient_id, list(channels) if channels is not None else None, opt_out_non_urgent,
        quiet_start, quiet_end, timezone)

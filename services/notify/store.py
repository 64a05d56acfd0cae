"""Notify's SQL for projections, routing and the inbox. Functions take a connection; callers
own transactions. Administration SQL is in store_admin.py, delivery SQL in store_delivery.py."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Sequence
from uuid import UUID

import asyncpg

from services.notify.domain import DEFAULT_RULES, PlannedNotification, Preferences, Rule
from services.notify.domain_templates import DEFAULT_TEMPLATES, TemplateText
from shared.contracts.events import _CaregiverFacts, _ChildFacts


# -- projections --------------------------------------------------------------------------

async def upsert_child(conn: asyncpg.Connection, event: _ChildFacts) -> None:
    """Newest record_version wins, whatever order the events arrive in."""
    await conn.execute(
        """INSERT INTO children (id, county_code, township_code, village_code, school_id, status, record_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (id) DO UPDATE SET
               county_code = EXCLUDED.county_code, township_code = EXCLUDED.township_code,
               village_code = EXCLUDED.village_code, school_id = EXCLUDED.school_id,
               status = EXCLUDED.status, record_version = EXCLUDED.record_version
           WHERE children.record_version < EXCLUDED.record_version""",
        event.child_id, event.jurisdiction.county_code, event.jurisdiction.township_code,
        event.jurisdiction.village_code, event.school_id, event.status, event.record_version,
    )


async def get_child(conn: asyncpg.Connection, child_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM children WHERE id = $1", child_id)


async def upsert_caregiver(conn: asyncpg.Connection, event: _CaregiverFacts) -> None:
    await conn.execute(
        """INSERT INTO caregivers (id, county_code, township_code, channels, active, record_version)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET
               county_code = EXCLUDED.county_code, township_code = EXCLUDED.township_code,
               channels = EXCLUDED.channels, active = EXCLUDED.active, record_version = EXCLUDED.record_version
           WHERE caregivers.record_version < EXCLUDED.record_version""",
        event.caregiver_id, event.jurisdiction.county_code, event.jurisdiction.township_code,
        list(event.channels), event.active, event.record_version,
    )


async def get_caregiver(conn: asyncpg.Connection, caregiver_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM caregivers WHERE id = $1::uuid", caregiver_id)


# -- defaults -----------------------------------------------------------------------------

async def seed_defaults(conn: asyncpg.Connection) -> None:
    """Default rules (county '') and templates; never overwrites what an admin changed."""
    await conn.executemany(
        """INSERT INTO routing_rules (county_code, event_type, audience, template, channels, enabled)
           VALUES ('', $1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        [(r.event_type, r.audience, r.template, list(r.channels), r.enabled) for r in DEFAULT_RULES])
    await conn.executemany(
        """INSERT INTO templates (template_key, locale, channel, subject, body)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        [(t.key, t.locale, t.channel, t.subject, t.body) for t in DEFAULT_TEMPLATES])


# -- routing ------------------------------------------------------------------------------

def _rule(row: asyncpg.Record) -> Rule:
    return Rule(row["event_type"], row["audience"], row["template"], tuple(row["channels"]), row["enabled"])


async def rules_for(conn: asyncpg.Connection, county_code: str, event_type: str) -> dict[str, Rule]:
    """Per audience, the county's own rule if it has one, else the default."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (audience) * FROM routing_rules
            WHERE event_type = $2 AND county_code IN ('', $1)
            ORDER BY audience, county_code DESC""",
        county_code, event_type)
    return {row["audience"]: _rule(row) for row in rows}


_STAFF_COLUMNS = "id, staff_id, jurisdiction, level, school_id, channels"


async def staff_at_level(conn: asyncpg.Connection, level: str, child: asyncpg.Record) -> list[asyncpg.Record]:
    """Staff of one level responsible for the child: its school's, township's or county's."""
    if level == "school":
        if not child["school_id"]:
            return []
        return await conn.fetch(
            f"""SELECT {_STAFF_COLUMNS} FROM staff_recipients
                 WHERE active AND level = 'school' AND school_id = $1""", child["school_id"])
    code = child["township_code"] if level == "township" else child["county_code"]
    return await conn.fetch(
        f"SELECT {_STAFF_COLUMNS} FROM staff_recipients WHERE active AND level = $1 AND jurisdiction = $2",
        level, code)


async def on_duty(conn: asyncpg.Connection, jurisdiction: str, at: datetime) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT DISTINCT {', '.join('s.' + c.strip() for c in _STAFF_COLUMNS.split(','))}
              FROM duty_roster d JOIN staff_recipients s ON s.id = d.recipient_id
             WHERE s.active AND d.jurisdiction = $1 AND d.starts_at <= $2
               AND d.ends_at > $2""",
        jurisdiction, at)


async def preferences_for(conn: asyncpg.Connection, kind: str, ids: Sequence[str]) -> dict[str, Preferences]:
    rows = await conn.fetch(
        "SELECT * FROM recipient_preferences WHERE recipient_kind = $1 AND recipient_id = ANY($2::text[])",
        kind, list(ids))
    return {row["recipient_id"]: preferences_from_row(row) for row in rows}


def preferences_from_row(row: asyncpg.Record) -> Preferences:
    return Preferences(channels=tuple(row["channels"]) if row["channels"] is not None else None,
                       opt_out_non_urgent=row["opt_out_non_urgent"], quiet_start=row["quiet_start"],
                       quiet_end=row["quiet_end"], timezone=row["timezone"])


async def webhook_subscribers(conn: asyncpg.Connection, county_code: str, event_type: str) -> list[str]:
    rows = await conn.fetch(
        """SELECT id FROM webhook_subscriptions
            WHERE active AND county_code = $1 AND $2 = ANY(event_types) ORDER BY id""",
        county_code, event_type)
    return [str(row["id"]) for row in rows]


# -- notifications ------------------------------------------------------------------------

async def insert_notification(conn: asyncpg.Connection, planned: PlannedNotification, child: Any,
                              *, delivered_in_app: bool, now: datetime) -> bool:
    """False when this (event, recipient, channel) already has its row: a redelivery."""
    inserted = await conn.fetchval(
        """INSERT INTO notifications (id, source_event_id, event_type, recipient_kind, recipient_id, channel,
                                      template, variables, payload, child_id, county_code, township_code,
                                      village_code, urgent, quiet_start, quiet_end, quiet_timezone, status,
                                      attempts, sent_at, next_attempt_at, created_at, updated_at, school_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                   CASE WHEN $18 THEN 'sent' ELSE 'pending' END, CASE WHEN $18 THEN 1 ELSE 0 END,
                   CASE WHEN $18 THEN $19::timestamptz END, $19, $19, $19, $20)
           ON CONFLICT (source_event_id, recipient_kind, recipient_id, channel) DO NOTHING
           RETURNING true""",
        planned.id, planned.source_event_id, planned.event_type, planned.recipient_kind, planned.recipient_id,
        planned.channel, planned.template, json.loads(json.dumps(planned.variables, default=str)),
        planned.payload, planned.child_id, child["county_code"], child["township_code"], child["village_code"],
        planned.urgent, planned.quiet_start, planned.quiet_end, planned.quiet_timezone, delivered_in_app,
        now, child.get("school_id"),
    )
    return bool(inserted)


async def list_inbox(conn: asyncpg.Connection, *, recipient_kind: str, recipient_id: str, scope_prefix: str,
                     limit: int, unread_only: bool = False, after: tuple[datetime, UUID] | None = None,
                     school_id: str | None = None) -> list[asyncpg.Record]:
    """Newest first, from after the keyset position `after` (created_at, id); with a school,
    only the messages about that school's children."""
    after_at, after_id = after or (None, None)
    return await conn.fetch(
        """SELECT id, source_event_id, event_type, recipient_kind, recipient_id, channel, template, variables,
                  child_id, township_code, status, created_at, read_at
             FROM notifications
            WHERE recipient_kind = $1 AND recipient_id = $2 AND channel = 'in_app'
              AND coalesce(village_code, township_code) LIKE $3 || '%'
              AND (NOT $5 OR read_at IS NULL)
              AND ($6::timestamptz IS NULL OR created_at < $6 OR (created_at = $6 AND id > $7::uuid))
              AND ($8::text IS NULL OR school_id = $8)
            ORDER BY created_at DESC, id LIMIT $4""",
        recipient_kind, recipient_id, scope_prefix, limit, unread_only, after_at, after_id, school_id,
    )


async def mark_read(conn: asyncpg.Connection, notification_id: UUID, recipient_kind: str,
                    recipient_id: str) -> bool:
    return await conn.fetchval(
        """UPDATE notifications SET read_at = coalesce(read_at, now())
            WHERE id = $1 AND recipient_kind = $2 AND recipient_id = $3 AND channel = 'in_app'
        RETURNING true""", notification_id, recipient_kind, recipient_id) or False


# -- templates ----------------------------------------------------------------------------

async def templates_for(conn: asyncpg.Connection, keys: Sequence[str]) -> dict[str, dict[tuple[str, str], TemplateText]]:
    rows = await conn.fetch("SELECT * FROM templates WHERE template_key = ANY($1::text[])", list(keys))
    found: dict[str, dict[tuple[str, str], TemplateText]] = {}
    for row in rows:
        found.setdefault(row["template_key"], {})[(row["locale"], row["channel"])] = TemplateText(
            row["template_key"], row["locale"], row["channel"], row["subject"], row["body"])
    return found


def notification_json(row: asyncpg.Record) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}

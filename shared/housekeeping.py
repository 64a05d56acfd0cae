"""Housekeeping of the plumbing tables: retention (`shouhu prune`, also run by every worker
once a day) and operators' decisions on dead letters (`shouhu dead-letters SERVICE
resolve|discard ID --reason ...`).

What the plumbing tables keep, and for how long:

- outbox: published rows older than 7 days (`shouhu reconcile` looks back 24 h by default;
  a week covers a long weekend's incident);
- inbox: rows older than 30 days (a redelivery comes from Kafka's retained offsets; a replay
  of older offsets is a deliberate reset);
- idempotency_keys: keys older than 7 days (clients retry a create within minutes or hours);
- dead_letters: replayed, resolved or discarded rows older than 90 days (open ones are never
  deleted: someone must decide on them).

Pending outbox rows, open dead letters and consumer progress are never pruned. Windows are
elapsed time on the database's own clock, which stamped these rows (they record when the
plumbing did something, not a date in the county's calendar): a stack whose clock
(shared/clock.py) runs a year ahead must not take yesterday's inbox for last year's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncio

import asyncpg

from shared.logging import get_logger
from shared.partitions import drop_months_before, ensure_months
from shared.settings import ServiceSettings

log = get_logger("shared.housekeeping")


@dataclass(frozen=True)
class Retention:
    outbox_published: timedelta = timedelta(days=7)
    inbox: timedelta = timedelta(days=30)
    idempotency_keys: timedelta = timedelta(days=7)
    dead_letters_closed: timedelta = timedelta(days=90)


async def prune(conn: asyncpg.Connection, retention: Retention = Retention()) -> dict[str, int]:
    """Deletes what is past its window, one statement per table. Returns rows deleted per table."""
    statements = {
        "outbox": ("DELETE FROM outbox WHERE status = 'published' AND published_at < now() - $1::interval",
                   retention.outbox_published),
        "inbox": ("DELETE FROM inbox WHERE processed_at < now() - $1::interval", retention.inbox),
        "idempotency_keys": ("DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval",
                             retention.idempotency_keys),
        "dead_letters": ("""DELETE FROM dead_letters WHERE status <> 'open'
                             AND coalesce(resolved_at, created_at) < now() - $1::interval""",
                         retention.dead_letters_closed),
    }
    deleted = {}
    for table, (sql, window) in statements.items():
        status = await conn.execute(sql, window)
        deleted[table] = int(status.split()[-1])
    return deleted


async def decide_dead_letter(conn: asyncpg.Connection, dead_letter_id: int, *, decision: str, reason: str,
                             decided_by: str) -> bool:
    """Closes an open dead letter as 'resolved' or 'discarded', recording who and why.
    False when there is no open dead letter with this id."""
    if decision not in ("resolved", "discarded"):
        raise ValueError("decision must be 'resolved' or 'discarded'")
    closed = await conn.fetchval(
        """UPDATE dead_letters SET status = $2, resolved_at = now(), decided_by = $3, decision_reason = $4
            WHERE id = $1 AND status = 'open' RETURNING true""",
        dead_letter_id, decision, decided_by, reason)
    return bool(closed)


async def prune_loop(settings: ServiceSettings, pool: asyncpg.Pool) -> None:
    """The worker's schedule: prune at start and every `prune_interval_s`, and create the
    coming months' partitions of the trails and drop those past `trail_retention_months`
    (shared/partitions.py; a replica more is harmless: the deletes, creations and drops are
    idempotent). A database away raises; the worker's supervisor starts the loop again."""
    while True:
        async with pool.acquire() as conn:
            deleted = await prune(conn)
            created = await ensure_months(conn, settings.clock.now())
            dropped = (await drop_months_before(conn, settings.trail_retention_months)
                       if settings.trail_retention_months else [])
        if any(deleted.values()):
            log.info("housekeeping.pruned", **deleted)
        if created:
            log.info("housekeeping.partitions_created", partitions=created)
        if dropped:
            log.info("housekeeping.partitions_dropped", partitions=dropped)
        await asyncio.sleep(settings.prune_interval_s)

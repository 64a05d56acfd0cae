"""The retention job (a loop of the registry's worker, and `shouhu retention`): erases the
children's records whose retention period ended under the county's policy
(domain_retention.py). For each record, in one transaction: a record due by age that is still
open closed first (ChildClosed, reason aged_out: pairings end, duties stop), a tombstone of non-personal
facts, the record anonymised or purged (growth notes and proposed sheet changes deleted),
a row in the `erasures` trail and ChildErased in the outbox, on which pairing, visits,
notify and reports clear what they hold about the child. A record is locked while it is
erased (another replica skips it) and erased once: a rerun finds nothing due.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

import asyncpg

from services.registry import store_retention
from services.registry.domain_retention import Cutoffs, Policy, basis, closed_on_ageing_out, cutoffs
from shared import erasure, outbox
from shared.clock import Clock
from shared.contracts.events import ChildErased
from shared.logging import get_logger
from shared.settings import ServiceSettings

log = get_logger("registry.retention")

BATCH = 100


def due_cutoffs(policy: Policy, clock: Clock) -> Cutoffs:
    return cutoffs(policy, clock.today(), clock.zone)


async def dry_run(conn: asyncpg.Connection, clock: Clock) -> dict[str, Any]:
    """What a run would erase now: the policy and counts by why, nothing changed."""
    policy = store_retention.policy_of(await store_retention.get_policy(conn))
    counts = ({"closed": 0, "adulthood": 0, "due": 0} if policy.keeps_everything
              else await store_retention.count_due(conn, due_cutoffs(policy, clock)))
    return {"policy": {"years_after_closing": policy.years_after_closing,
                       "years_after_adulthood": policy.years_after_adulthood, "action": policy.action},
            "today": clock.today().isoformat(), **counts}


async def _erase_batch(conn: asyncpg.Connection, policy: Policy, due: Cutoffs, now: datetime, today: date) -> int:
    async with conn.transaction():
        children = await store_retention.due_children(conn, due, BATCH)
        for due_child in children:
            why = basis(due_child["status"], due_child["status_changed_at"], due_child["birth_date"], due)
            if due_child["status"] != "closed":
                child = await store_retention.close_aged_out(conn, due_child["id"], now)
                await outbox.add(conn, closed_on_ageing_out(child, today), time=now)
            else:
                child = await store_retention.get_child(conn, due_child["id"])
            await store_retention.write_tombstone(conn, child, basis=why, action=policy.action, erased_at=now)
            if policy.action == "purge":
                counts = await store_retention.purge_child(conn, child["id"])
            else:
                counts = await store_retention.anonymise_child(conn, child["id"], now)
            await erasure.record(conn, child["id"], action=policy.action, counts={"basis": why, **counts},
                                 erased_at=now)
            await outbox.add(conn, ChildErased(child_id=child["id"], action=policy.action), time=now)
    return len(children)


async def erase_due(pool_or_conn: asyncpg.Pool | asyncpg.Connection, clock: Clock) -> int:
    """Erases every record due now, a batch per transaction; returns how many."""
    async def run(conn: asyncpg.Connection) -> int:
        policy = store_retention.policy_of(await store_retention.get_policy(conn))
        if policy.keeps_everything:
            return 0
        due, now, total = due_cutoffs(policy, clock), clock.now(), 0
        while (erased := await _erase_batch(conn, policy, due, now, clock.today())) > 0:
            total += erased
        return total

    if isinstance(pool_or_conn, asyncpg.Pool):
        async with pool_or_conn.acquire() as conn:
            return await run(conn)
    return await run(pool_or_conn)


async def retention_loop(settings: ServiceSettings, pool: asyncpg.Pool) -> None:
    """Daily with the housekeeping (`prune_interval_s`). A database away raises; the
    worker's supervisor starts the loop again."""
    while True:
        erased = await erase_due(pool, settings.clock)
        if erased:
            log.info("retention.erased", children=erased)
        await asyncio.sleep(settings.prune_interval_s)

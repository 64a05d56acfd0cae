"""Reconcile republishes outbox events that Kafka does not have, and lists the events Kafka has
that the outbox lost (orphans, after a failover or a restore)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

from shared import outbox
from shared.db import create_pool
from shared.outbox import OutboxRelay
from shared.reconcile import orphans, reconcile
from shared.topics import ensure_topics
from tests.support.plumbing import child_registered, create_plumbing_database, fetch, plumbing_settings
from tests.support.waiting import wait_for


async def test_an_event_marked_published_but_absent_from_kafka_is_published_again(infra, topic_prefix) -> None:
    url = await create_plumbing_database(infra)
    settings = plumbing_settings(infra, url, topic_prefix)
    await ensure_topics(settings)
    pool = await create_pool(settings)
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    try:
        async with pool.acquire() as conn:
            async with conn.transaction():
                real = await outbox.add(conn, child_registered(uuid.uuid4()))
                lost = await outbox.add(conn, child_registered(uuid.uuid4()))
            # `lost` never reached Kafka (as after a topic was recreated) but reads as published.
            await conn.execute("UPDATE outbox SET status = 'published', published_at = now() WHERE event_id = $1",
                               lost)
        relay = asyncio.create_task(OutboxRelay(settings, pool).run())
        try:
            await wait_for(lambda: _published(url, real), what="the relay to publish the real event")
            async with pool.acquire() as conn:
                assert await reconcile(settings, conn, since, dry_run=True) == [lost]
                assert await reconcile(settings, conn, since) == [lost]
            await wait_for(lambda: _published(url, lost), what="the relay to republish the lost event")
            async with pool.acquire() as conn:
                assert await reconcile(settings, conn, since) == []
        finally:
            relay.cancel()
            await asyncio.gather(relay, return_exceptions=True)
    finally:
        await pool.close()


async def test_an_event_on_kafka_that_the_outbox_lost_is_listed_as_an_orphan(infra, topic_prefix) -> None:
    url = await create_plumbing_database(infra)
    settings = plumbing_settings(infra, url, topic_prefix)
    await ensure_topics(settings)
    pool = await create_pool(settings)
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    try:
        async with pool.acquire() as conn:
            async with conn.transaction():
                kept = await outbox.add(conn, child_registered(uuid.uuid4()))
                forgotten = await outbox.add(conn, child_registered(uuid.uuid4()))
        relay = asyncio.create_task(OutboxRelay(settings, pool).run())
        try:
            for event_id in (kept, forgotten):
                await wait_for(lambda: _published(url, event_id), what="the relay to publish both events")
        finally:
            relay.cancel()
            await asyncio.gather(relay, return_exceptions=True)
        async with pool.acquire() as conn:
            assert await orphans(settings, conn, since) == []
            # The commit of `forgotten` is lost, as on a failover to a standby that lacked it.
            await conn.execute("DELETE FROM outbox WHERE event_id = $1", forgotten)
            assert await orphans(settings, conn, since) == [forgotten]
            assert await reconcile(settings, conn, since) == []
    finally:
        await pool.close()


async def _published(url: str, event_id: uuid.UUID) -> bool:
    rows = await fetch(url, "SELECT status FROM outbox WHERE event_id = $1", event_id)
    return rows[0]["status"] == "published"

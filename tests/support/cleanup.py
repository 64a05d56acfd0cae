"""Removes what a test session created on the shared local infrastructure: its databases
and its topics. Best effort and bounded: a failure here is reported, never a test failure."""

from __future__ import annotations

import asyncio
import warnings

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.infra import Infrastructure


async def clean_up(infra: Infrastructure) -> None:
    for step in (_drop_databases, _delete_topics):
        try:
            await asyncio.wait_for(step(infra), 120)
        except Exception as exc:  # leftovers are untidy, not wrong
            warnings.warn(f"test clean-up ({step.__name__}) failed: {exc!r}", stacklevel=1)


async def _drop_databases(infra: Infrastructure) -> None:
    if not infra.created_databases:
        return
    admin = await asyncpg.connect(infra.pg_admin_url, timeout=10)
    try:
        for name in infra.created_databases:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _delete_topics(infra: Infrastructure) -> None:
    if not infra.topic_prefixes:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        prefixes = tuple(infra.topic_prefixes)
        ours = [topic for topic in await admin.list_topics() if topic.startswith(prefixes)]
        for start in range(0, len(ours), 100):
            await admin.delete_topics(ours[start:start + 100], timeout_ms=30_000)
    finally:
        await admin.close()

"""A real worker process around the shared consumer loop, for the crash test:
`python -m tests.support.counting_worker` with TEST_* variables in the environment."""

from __future__ import annotations

import asyncio
import os

from shared.consumer import Consumer
from shared.contracts.events import REGISTRY_TOPIC
from shared.db import create_pool
from shared.logging import configure_logging
from shared.settings import ServiceSettings
from tests.support.plumbing import CountingHandlers


async def main() -> None:
    settings = ServiceSettings(
        service_name="counting", database_url=os.environ["TEST_DATABASE_URL"],
        kafka_bootstrap_servers=os.environ["TEST_KAFKA_BOOTSTRAP"],
        kafka_topic_prefix=os.environ["TEST_TOPIC_PREFIX"], consumer_group=os.environ["TEST_GROUP"],
        debug_pause_before_offset_commit_s=float(os.environ.get("TEST_PAUSE_BEFORE_OFFSET_COMMIT_S", "0")),
    )
    configure_logging("counting")
    pool = await create_pool(settings)
    consumer = Consumer(settings, pool, name="counting", topics=(REGISTRY_TOPIC,),
                        handlers=CountingHandlers().handler_map())
    await consumer.run()


if __name__ == "__main__":
    asyncio.run(main())

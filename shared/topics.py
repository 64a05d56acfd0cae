"""Creates the contract's topics when they are missing.

Production declares topics up front (deploy/ has a KafkaTopic per topic); this keeps a
fresh local broker or test run from depending on broker-side auto-creation, whose
partition count would then be whatever the broker defaults to.
"""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.contracts import TOPICS
from shared.kafka_security import kafka_security
from shared.settings import ServiceSettings


def create_admin(settings: ServiceSettings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, **kafka_security(settings),
                               request_timeout_ms=settings.kafka_request_timeout_ms,
                               client_id=f"shouhu-{settings.service_name}-admin")


async def ensure_topics(settings: ServiceSettings) -> None:
    admin = create_admin(settings)
    await asyncio.wait_for(admin.start(), settings.kafka_request_timeout_ms / 1000)
    try:
        wanted = [settings.kafka_topic_prefix + topic for topic in TOPICS]
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, settings.kafka_topic_partitions, settings.kafka_replication_factor)
                   for name in wanted if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another worker created them first
            # Creation is asynchronous: wait (bounded) until the broker's metadata lists every
            # topic, or a consumer subscribing now would not see one until its next metadata
            # refresh and would sit idle meanwhile.
            async with asyncio.timeout(settings.kafka_request_timeout_ms / 1000):
                while not set(wanted) <= set(await admin.list_topics()):
                    await asyncio.sleep(0.1)
    finally:
        await admin.close()

"""Creates the contract's topics when they are missing.

Production declares topics up front (deploy/ has a KafkaTopic per topic); this keeps a
fresh local broker or test run from depending on broker-side auto-creation, whose
partition count would then be whatever the broker defaults to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.contracts import TOPICS
from shared.contracts.events import NOTIFY_TOPIC, PAIRING_TOPIC, REGISTRY_TOPIC, VISITS_TOPIC
from shared.kafka_security import kafka_security
from shared.settings import ServiceSettings


# The domain topics are the log of record: every event kept (-1), so that any subscriber can
# build its state from the beginning. Notify's delivery reports are kept 30 days. The same
# as deploy/ declares (tests/deploy checks it).
RETENTION_MS = {REGISTRY_TOPIC: -1, PAIRING_TOPIC: -1, VISITS_TOPIC: -1, NOTIFY_TOPIC: 30 * 86_400_000}


async def topic_partitions(consumer: AIOKafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of `topics` (in order), for a started consumer that assigns them itself.

    Since aiokafka 0.13 a client keeps metadata only for the topics it tracks, so
    partitions_for_topic answers None for the others, even after topics(). This asks the
    cluster for every topic's metadata (what topics() does) and reads the partitions from
    that answer; aiokafka has no public call that returns it.
    """
    cluster = await consumer._client.fetch_all_metadata()
    return [TopicPartition(topic, number) for topic in topics for number in sorted(cluster.partitions_for_topic(topic) or ())]


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
        missing = [NewTopic(settings.kafka_topic_prefix + topic, settings.kafka_topic_partitions,
                            settings.kafka_replication_factor,
                            topic_configs={"retention.ms": str(RETENTION_MS[topic])})
                   for topic in TOPICS if settings.kafka_topic_prefix + topic not in existing]
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

"""The services' Kafka settings and the manifests' ACLs against a real broker that enforces
them (TLS, SCRAM-SHA-512, StandardAuthorizer): visits, logged in as its KafkaUser with the
ACLs of deploy/k8s/base/kafka/users.yaml, publishes its own events through the outbox relay's
producer and consumes the registry's in its own group, and the broker refuses a forged event
on the registry's topic and a read of a topic visits does not consume."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAuthorizationFailedError

from shared.consumer import Consumer
from shared.contracts.events import NOTIFY_TOPIC, REGISTRY_TOPIC, TOPICS, VISITS_TOPIC
from shared.http import KafkaProbe
from shared.outbox import create_producer
from shared.settings import ServiceSettings
from shared.topics import ensure_topics
from tests.support.secure_kafka import REPO, SecureKafka, secure_kafka

USERS = REPO / "deploy" / "k8s" / "base" / "kafka" / "users.yaml"
PASSWORD = "visits-scram-password-for-tests"


def manifest_acls(user: str) -> list[dict]:
    users = {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(USERS.read_text(encoding="utf-8")) if doc}
    return users[user]["spec"]["authorization"]["acls"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> SecureKafka:  # type: ignore[misc]
    with secure_kafka(tmp_path_factory.mktemp("secure-kafka"), {"shouhu-visits": PASSWORD}) as kafka:
        kafka.allow("shouhu-visits", manifest_acls("shouhu-visits"))
        yield kafka


def visits_settings(broker: SecureKafka, tmp_path: Path, monkeypatch) -> ServiceSettings:
    """What the overlays give visits' pods: the protocol, its user, the password and CA as files."""
    password = tmp_path / "password"
    password.write_text(PASSWORD, encoding="utf-8")
    for name, value in {"SHOUHU_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "SHOUHU_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                        "SHOUHU_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "SHOUHU_KAFKA_SASL_USERNAME": "shouhu-visits",
                        "SHOUHU_KAFKA_SASL_PASSWORD_FILE": str(password),
                        "SHOUHU_KAFKA_SSL_CAFILE": str(broker.ca_file)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SHOUHU_KAFKA_TOPIC_PREFIX", raising=False)
    return ServiceSettings(service_name="visits", kafka_request_timeout_ms=10_000)


async def test_visits_writes_its_topic_reads_what_it_consumes_and_nothing_else(broker, tmp_path, monkeypatch) -> None:
    admin = AIOKafkaAdminClient(**broker.admin_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1) for topic in TOPICS])
    finally:
        await admin.close()
    settings = visits_settings(broker, tmp_path, monkeypatch)
    await ensure_topics(settings)  # sees the declared topics (Describe); would fail if it tried to create one
    assert await KafkaProbe(settings).reachable()

    producer = create_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(VISITS_TOPIC, b"visit-logged", key=b"child")
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(producer.send_and_wait(REGISTRY_TOPIC, b"forged", key=b"child"), 30)
    finally:
        await producer.stop()

    registry = AIOKafkaProducer(**broker.admin_options())
    await registry.start()
    await registry.send_and_wait(REGISTRY_TOPIC, b"child-registered", key=b"child")
    await registry.stop()
    consumer = Consumer(settings, None, name="visits.registry", topics=(REGISTRY_TOPIC,), handlers={})
    reader = consumer._create_kafka_consumer()
    await reader.start()
    try:
        received: list[bytes] = []
        async with asyncio.timeout(60):
            while not received:
                batches = await reader.getmany(timeout_ms=500)
                received += [record.value for records in batches.values() for record in records]
        assert received == [b"child-registered"]
        await reader.commit()  # its own group: shouhu-visits.visits.registry
    finally:
        await reader.stop()

    outsider = Consumer(settings, None, name="visits.notify", topics=(NOTIFY_TOPIC,), handlers={})._create_kafka_consumer()
    await outsider.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            async with asyncio.timeout(60):
                while True:
                    await outsider.getmany(timeout_ms=500)
    finally:
        await outsider.stop()

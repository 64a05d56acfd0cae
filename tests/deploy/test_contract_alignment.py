"""The deployment files agree with the code: topics with the event contract, KEDA's consumer
groups with the workers' consumers, partition and replication settings with the topics."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

from shared.contracts.events import TOPICS
from shared.settings import ServiceSettings
from tests.deploy.conftest import DEPLOY, OVERLAYS, SERVICES, by_kind


def consumer_groups(service: str) -> set[str]:
    """The Kafka consumer groups the service's worker joins: shouhu-<service>.<consumer name>."""
    worker = importlib.import_module(f"services.{service}.worker")
    config = importlib.import_module(f"services.{service}.config")
    settings = config.load_settings()
    # pool=None: building a Consumer only records its settings, name, topics and handlers.
    return {f"{settings.group_id}.{consumer.name}" for consumer in worker.build_consumers(settings, None)}


def config_values(resources: list[dict[str, Any]], key_suffix: str) -> dict[str, str]:
    values = {}
    for config_map in by_kind(resources, "ConfigMap").values():
        for key, value in config_map.get("data", {}).items():
            if key.endswith(key_suffix):
                values[key] = value
    return values


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_topics_are_the_contracts_topics(rendered, overlay: str) -> None:
    topics = by_kind(rendered(overlay), "KafkaTopic").values()
    names = [t["spec"].get("topicName", t["metadata"]["name"]) for t in topics]
    assert sorted(names) == sorted(TOPICS), f"{overlay}: KafkaTopics {sorted(names)} != contract {sorted(TOPICS)}"
    for topic in topics:
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "shouhu-kafka"
        assert int(topic["spec"]["config"]["retention.ms"]) >= 14 * 86_400_000, topic["metadata"]["name"]


def test_compose_creates_the_contracts_topics() -> None:
    script = (DEPLOY / "compose" / "create-topics.sh").read_text(encoding="utf-8")
    block = re.search(r"^TOPICS=\((.*?)^\)", script, re.MULTILINE | re.DOTALL)
    assert block, "create-topics.sh has no TOPICS=( ... ) list"
    names = re.findall(r'^\s*"(\S+)\s+\d+"', block.group(1), re.MULTILINE)
    assert sorted(names) == sorted(TOPICS), f"compose topics {sorted(names)} != contract {sorted(TOPICS)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_topic_settings_agree_with_brokers_and_services(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    brokers = by_kind(resources, "KafkaNodePool")["combined"]["spec"]["replicas"]
    kafka_config = by_kind(resources, "Kafka")["shouhu-kafka"]["spec"]["kafka"]["config"]
    topics = list(by_kind(resources, "KafkaTopic").values())
    partitions = {t["spec"]["partitions"] for t in topics}
    replicas = {t["spec"]["replicas"] for t in topics}
    assert len(partitions) == 1 and len(replicas) == 1, f"{overlay}: topics differ: {partitions} {replicas}"
    [partitions], [replicas] = partitions, replicas
    assert replicas <= brokers, f"{overlay}: {replicas} replicas on {brokers} brokers"
    assert kafka_config["default.replication.factor"] == replicas
    assert kafka_config["offsets.topic.replication.factor"] == replicas
    for topic in topics:
        min_isr = topic["spec"]["config"]["min.insync.replicas"]
        # acks=all must still succeed with one broker down (when there is more than one).
        assert min_isr == (1 if replicas == 1 else replicas - 1), f"{overlay}: min.insync.replicas {min_isr}"
    # A worker that finds a topic missing creates it with its own settings: keep them equal.
    for key, value in config_values(resources, "_KAFKA_TOPIC_PARTITIONS").items():
        assert int(value) == partitions, f"{overlay}: {key}={value}, topics have {partitions}"
    for key, value in config_values(resources, "_KAFKA_REPLICATION_FACTOR").items():
        assert int(value) == replicas, f"{overlay}: {key}={value}, topics have {replicas}"
    assert len(config_values(resources, "_KAFKA_TOPIC_PARTITIONS")) == len(SERVICES)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_reach_kafka_at_the_overlays_bootstrap_address(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    namespace = by_kind(resources, "Kafka")["shouhu-kafka"]["metadata"]["namespace"]
    [bootstrap] = config_values(resources, "SHOUHU_KAFKA_BOOTSTRAP_SERVERS").values()
    # Namespace-qualified, because KEDA's operator (another namespace) resolves it too.
    assert bootstrap == f"shouhu-kafka-kafka-bootstrap.{namespace}.svc:9092"


def test_keda_scales_each_consuming_worker_on_its_own_consumer_groups(rendered) -> None:
    scaled = by_kind(rendered("province"), "ScaledObject")
    expected = {service: consumer_groups(service) for service in SERVICES}
    # group_id defaults to shouhu-<service>, as the KEDA triggers assume.
    assert ServiceSettings(service_name="x").group_id == "shouhu-x"
    for service, groups in expected.items():
        if not groups:
            assert f"{service}-worker" not in scaled, f"{service} consumes nothing; lag cannot scale it"
            continue
        scaled_object = scaled[f"{service}-worker"]
        assert scaled_object["spec"]["scaleTargetRef"]["name"] == f"{service}-worker"
        triggers = scaled_object["spec"]["triggers"]
        assert {t["type"] for t in triggers} == {"kafka"}
        assert {t["metadata"]["consumerGroup"] for t in triggers} == groups, \
            f"{service}: KEDA watches {[t['metadata']['consumerGroup'] for t in triggers]}, the worker joins {groups}"
        partitions = next(iter(by_kind(rendered("province"), "KafkaTopic").values()))["spec"]["partitions"]
        assert scaled_object["spec"]["maxReplicaCount"] <= partitions
        assert scaled_object["spec"]["minReplicaCount"] >= 1

"""The deployment files agree with the code: topics with the event contract, KEDA's consumer
groups with the workers' consumers, partition and replication settings with the topics."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

from shared.contracts.events import TOPICS
from shared.settings import ServiceSettings
from shared.topics import RETENTION_MS
from tests.deploy.conftest import DEPLOY, OVERLAYS, SERVICES, by_kind, service_workloads


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
        name = topic["spec"].get("topicName", topic["metadata"]["name"])
        assert int(topic["spec"]["config"]["retention.ms"]) == RETENTION_MS[name], name


def test_compose_creates_the_contracts_topics() -> None:
    script = (DEPLOY / "compose" / "create-topics.sh").read_text(encoding="utf-8")
    block = re.search(r"^TOPICS=\((.*?)^\)", script, re.MULTILINE | re.DOTALL)
    assert block, "create-topics.sh has no TOPICS=( ... ) list"
    days = dict(re.findall(r'^\s*"(\S+)\s+(-?\d+)"', block.group(1), re.MULTILINE))
    assert sorted(days) == sorted(TOPICS), f"compose topics {sorted(days)} != contract {sorted(TOPICS)}"
    assert {name: -1 if int(d) < 0 else int(d) * 86_400_000 for name, d in days.items()} == RETENTION_MS


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
    assert bootstrap == f"shouhu-kafka-kafka-bootstrap.{namespace}.svc:9093"


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


def consumed_topics(service: str) -> set[str]:
    """The topics the service's worker consumes (its Consumers' topics)."""
    worker = importlib.import_module(f"services.{service}.worker")
    settings = importlib.import_module(f"services.{service}.config").load_settings()
    return {topic for consumer in worker.build_consumers(settings, None) for topic in consumer._topics}


def own_topic(service: str) -> str | None:
    """The topic the service publishes, or None for one that publishes nothing (reports)."""
    topic = f"shouhu.{service}.events.v1"
    return topic if topic in TOPICS else None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_takes_only_tls_with_scram_and_enforces_acls(rendered, overlay: str) -> None:
    kafka = by_kind(rendered(overlay), "Kafka")["shouhu-kafka"]["spec"]
    listeners = [(lst["port"], lst["tls"], lst.get("authentication", {}).get("type")) for lst in kafka["kafka"]["listeners"]]
    assert listeners == [(9093, True, "scram-sha-512")], f"{overlay}: {listeners}"
    assert kafka["kafka"]["authorization"] == {"type": "simple"}
    assert "userOperator" in kafka["entityOperator"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_may_write_only_its_own_topic_and_read_only_what_it_consumes(rendered, overlay: str) -> None:
    users = by_kind(rendered(overlay), "KafkaUser")
    for service in SERVICES:
        user = users[f"shouhu-{service}"]["spec"]
        assert user["authentication"] == {"type": "scram-sha-512"}
        group_prefix = f"{importlib.import_module(f'services.{service}.config').load_settings().group_id}."
        expected = {("topic", "shouhu.", "prefix"): {"Describe"}}
        if own_topic(service):
            expected[("topic", own_topic(service), "literal")] = {"Write", "Read", "Describe"}
        expected |= {("topic", topic, "literal"): {"Read", "Describe"} for topic in consumed_topics(service)}
        if consumed_topics(service):
            expected[("group", group_prefix, "prefix")] = {"Read", "Describe"}
            assert all(group.startswith(group_prefix) for group in consumer_groups(service))
        granted = {(acl["resource"]["type"], acl["resource"]["name"], acl["resource"]["patternType"]):
                   set(acl["operations"]) for acl in user["authorization"]["acls"]}
        assert len(granted) == len(user["authorization"]["acls"]), f"{overlay}: {service}: repeated ACL resources"
        assert granted == expected, f"{overlay}: {service}: ACLs {granted}, expected {expected}"
    writers = {(acl["resource"]["name"], name) for name, user in users.items()
               for acl in user["spec"]["authorization"]["acls"] if {"Write", "All"} & set(acl["operations"])}
    assert writers == {(own_topic(service), f"shouhu-{service}") for service in SERVICES if own_topic(service)}, \
        f"{overlay}: {writers}"
    # Every topic of the contract has its one writer.
    assert {topic for topic, _ in writers} == set(TOPICS), f"{overlay}: {writers}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_apis_and_workers_log_in_to_kafka_as_their_own_user(rendered, overlay: str) -> None:
    resources = rendered(overlay)
    common = next(c for n, c in by_kind(resources, "ConfigMap").items() if n.startswith("shouhu-common"))["data"]
    assert common["SHOUHU_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert common["SHOUHU_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    for name, deployment in service_workloads(resources).items():
        service = name.rsplit("-", 1)[0]
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["SHOUHU_KAFKA_SASL_USERNAME"] == f"shouhu-{service}", name
        [mount] = [m for m in container["volumeMounts"] if m["name"] == "kafka"]
        for key in ("SHOUHU_KAFKA_SASL_PASSWORD_FILE", "SHOUHU_KAFKA_SSL_CAFILE"):
            assert common[key].rsplit("/", 1)[0] == mount["mountPath"], f"{name}: {key}"
        [volume] = [v for v in pod["volumes"] if v["name"] == "kafka"]
        secrets = {source["secret"]["name"]: source["secret"]["items"] for source in volume["projected"]["sources"]}
        assert secrets == {f"shouhu-{service}": [{"key": "password", "path": "password"}],
                           "shouhu-kafka-cluster-ca-cert": [{"key": "ca.crt", "path": "ca.crt"}]}, name


def test_keda_reads_lag_as_its_own_user_that_may_only_describe(rendered) -> None:
    resources = rendered("province")
    acls = by_kind(resources, "KafkaUser")["shouhu-keda"]["spec"]["authorization"]["acls"]
    assert {op for acl in acls for op in acl["operations"]} == {"Describe"}
    auth = by_kind(resources, "TriggerAuthentication")["shouhu-kafka"]["spec"]
    assert {ref["parameter"] for ref in auth["secretTargetRef"] + auth["configMapTargetRef"]} == \
        {"sasl", "tls", "username", "password", "ca"}
    keda_config = by_kind(resources, "ConfigMap")["shouhu-keda-kafka"]["data"]
    assert keda_config == {"sasl": "scram_sha512", "tls": "enable", "username": "shouhu-keda"}
    for scaled in by_kind(resources, "ScaledObject").values():
        assert all(t["authenticationRef"] == {"name": "shouhu-kafka"} for t in scaled["spec"]["triggers"])

"""Consumer group ids carry the topic prefix: two counties on one Kafka never share a group."""

from __future__ import annotations

from shared.consumer import Consumer
from shared.settings import ServiceSettings


async def test_group_ids_are_derived_from_the_topic_prefix(monkeypatch) -> None:
    monkeypatch.delenv("SHOUHU_KAFKA_TOPIC_PREFIX", raising=False)
    groups = {}
    for county in ("", "county-a.", "county-b."):
        settings = ServiceSettings(service_name="visits", kafka_topic_prefix=county)
        consumer = Consumer(settings, None, name="visits.registry", topics=("shouhu.registry.events.v1",), handlers={})
        kafka_consumer = consumer._create_kafka_consumer()
        groups[county] = (kafka_consumer._group_id, sorted(kafka_consumer._subscription.subscription.topics))
        await kafka_consumer.stop()
    assert groups[""][0] == "shouhu-visits.visits.registry"
    assert groups["county-a."][0] == "county-a.shouhu-visits.visits.registry"
    assert groups["county-b."][0] == "county-b.shouhu-visits.visits.registry"
    assert groups["county-a."][1] == ["county-a.shouhu.registry.events.v1"]


def test_an_explicit_group_still_wins_and_the_prefix_is_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("SHOUHU_KAFKA_TOPIC_PREFIX", "county-c.")
    assert ServiceSettings(service_name="pairing").group_id == "county-c.shouhu-pairing"
    assert ServiceSettings(service_name="pairing", consumer_group="ops-replay").group_id == "ops-replay"

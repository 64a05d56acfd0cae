#!/usr/bin/env bash
# Declares the event contract's topics on the compose stack's Kafka (the `kafka-topics`
# service runs this once per `docker compose up`; it is idempotent).
#
# The list below must equal TOPICS in shared/contracts/events.py: tests/deploy checks it.
# Every topic is keyed by child id; retention is long enough for a consumer to be down for
# weeks, and a lost event can always be republished from its service's outbox
# (`shouhu reconcile`).
set -euo pipefail

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
KAFKA_TOPICS="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"
PREFIX="${TOPIC_PREFIX:-}"
PARTITIONS="${PARTITIONS:-6}"
REPLICATION_FACTOR="${REPLICATION_FACTOR:-1}"
DAY_MS=86400000

# topic name                  retention (days)
TOPICS=(
  "shouhu.registry.events.v1  90"
  "shouhu.pairing.events.v1   30"
  "shouhu.visits.events.v1    30"
  "shouhu.notify.events.v1    30"
)

for entry in "${TOPICS[@]}"; do
  read -r topic days <<<"$entry"
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$PREFIX$topic" --partitions "$PARTITIONS" --replication-factor "$REPLICATION_FACTOR" \
    --config "retention.ms=$((days * DAY_MS))" --config min.insync.replicas=1 \
    --config cleanup.policy=delete
  echo "create-topics: $PREFIX$topic ready"
done

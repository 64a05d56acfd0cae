#!/usr/bin/env bash
# Declares the event contract's topics on the compose stack's Kafka (the `kafka-topics`
# service runs this once per `docker compose up`; it is idempotent).
#
# The list below must equal TOPICS in shared/contracts/events.py: tests/deploy checks it.
# Every topic is keyed by child id. The domain topics (registry, pairing, visits) are the
# log of record and keep every event (-1: no time limit), so that the reports service, or
# any government system, can build its state from the beginning (docs/operations.md sizes
# the disk); notify's delivery reports are kept 30 days.
set -euo pipefail

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
KAFKA_TOPICS="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"
PREFIX="${TOPIC_PREFIX:-}"
PARTITIONS="${PARTITIONS:-6}"
REPLICATION_FACTOR="${REPLICATION_FACTOR:-1}"
DAY_MS=86400000

# topic name                  retention (days; -1: every event kept)
TOPICS=(
  "shouhu.registry.events.v1  -1"
  "shouhu.pairing.events.v1   -1"
  "shouhu.visits.events.v1    -1"
  "shouhu.notify.events.v1    30"
)

for entry in "${TOPICS[@]}"; do
  read -r topic days <<<"$entry"
  retention_ms=-1
  if ((days >= 0)); then retention_ms=$((days * DAY_MS)); fi
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$PREFIX$topic" --partitions "$PARTITIONS" --replication-factor "$REPLICATION_FACTOR" \
    --config "retention.ms=$retention_ms" --config min.insync.replicas=1 \
    --config cleanup.policy=delete
  echo "create-topics: $PREFIX$topic ready"
done

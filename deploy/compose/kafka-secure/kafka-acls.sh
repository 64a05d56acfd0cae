#!/usr/bin/env bash
# Grants each service's login what deploy/k8s/base/kafka/users.yaml grants its KafkaUser:
# write only its own topic, read only what it consumes, in its own consumer groups, and
# Describe on the Shouhu topics. tests/deploy checks this list against users.yaml.
# Idempotent (adding an ACL that exists changes nothing).
set -euo pipefail

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
PREFIX="${TOPIC_PREFIX:-}"

# login            resource  name                        pattern   operations
GRANTS=(
  "shouhu-registry topic     shouhu.registry.events.v1  literal   Write,Read,Describe"
  "shouhu-registry topic     shouhu.pairing.events.v1   literal   Read,Describe"
  "shouhu-registry group     shouhu-registry.           prefixed  Read,Describe"
  "shouhu-registry topic     shouhu.                    prefixed  Describe"
  "shouhu-pairing  topic     shouhu.pairing.events.v1   literal   Write,Read,Describe"
  "shouhu-pairing  topic     shouhu.registry.events.v1  literal   Read,Describe"
  "shouhu-pairing  topic     shouhu.visits.events.v1    literal   Read,Describe"
  "shouhu-pairing  group     shouhu-pairing.            prefixed  Read,Describe"
  "shouhu-pairing  topic     shouhu.                    prefixed  Describe"
  "shouhu-visits   topic     shouhu.visits.events.v1    literal   Write,Read,Describe"
  "shouhu-visits   topic     shouhu.registry.events.v1  literal   Read,Describe"
  "shouhu-visits   topic     shouhu.pairing.events.v1   literal   Read,Describe"
  "shouhu-visits   group     shouhu-visits.             prefixed  Read,Describe"
  "shouhu-visits   topic     shouhu.                    prefixed  Describe"
  "shouhu-notify   topic     shouhu.notify.events.v1    literal   Write,Read,Describe"
  "shouhu-notify   topic     shouhu.registry.events.v1  literal   Read,Describe"
  "shouhu-notify   topic     shouhu.pairing.events.v1   literal   Read,Describe"
  "shouhu-notify   topic     shouhu.visits.events.v1    literal   Read,Describe"
  "shouhu-notify   group     shouhu-notify.             prefixed  Read,Describe"
  "shouhu-notify   topic     shouhu.                    prefixed  Describe"
  "shouhu-reports  topic     shouhu.registry.events.v1  literal   Read,Describe"
  "shouhu-reports  topic     shouhu.pairing.events.v1   literal   Read,Describe"
  "shouhu-reports  topic     shouhu.visits.events.v1    literal   Read,Describe"
  "shouhu-reports  topic     shouhu.notify.events.v1    literal   Read,Describe"
  "shouhu-reports  group     shouhu-reports.            prefixed  Read,Describe"
  "shouhu-reports  topic     shouhu.                    prefixed  Describe"
)

for grant in "${GRANTS[@]}"; do
  read -r login resource name pattern operations <<<"$grant"
  arguments=(--bootstrap-server "$BOOTSTRAP" --add --allow-principal "User:$login"
             "--$resource" "$PREFIX$name" --resource-pattern-type "$pattern")
  for operation in ${operations//,/ }; do
    arguments+=(--operation "$operation")
  done
  /shouhu/kafka-secure/admin-client.sh kafka-acls.sh "${arguments[@]}"
done

#!/usr/bin/env bash
# Runs a Kafka command-line tool as the admin login over TLS: `admin-client.sh kafka-topics.sh …`.
# Used by the healthcheck, by create-topics.sh (as KAFKA_TOPICS) and by kafka-acls.sh.
set -euo pipefail
: "${KAFKA_ADMIN_PASSWORD:?}"
PROPERTIES=/tmp/admin-client.properties
cat >"$PROPERTIES" <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=/run/kafka-tls/ca.crt
PROPERTIES
tool="$1"
shift
exec "/opt/kafka/bin/$tool" "$@" --command-config "$PROPERTIES"

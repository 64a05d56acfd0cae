#!/usr/bin/env bash
# The compose stack's Kafka as production runs it (docker-compose.kafka-secure.yml): clients
# reach it only over TLS with a SCRAM-SHA-512 login, and the StandardAuthorizer enforces the
# ACLs that kafka-acls.sh grants. The SCRAM logins are written when the storage is formatted
# (KRaft has no other way to create the first ones); a formatted volume keeps its logins.
set -euo pipefail

: "${KAFKA_ADMIN_PASSWORD:?}" "${KAFKA_REGISTRY_PASSWORD:?}" "${KAFKA_PAIRING_PASSWORD:?}"
: "${KAFKA_VISITS_PASSWORD:?}" "${KAFKA_NOTIFY_PASSWORD:?}" "${KAFKA_REPORTS_PASSWORD:?}"
DATA=/var/lib/kafka/data
CONFIG=/tmp/server.properties
TLS=/run/kafka-tls
JAAS="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$KAFKA_ADMIN_PASSWORD\";"

cat >"$CONFIG" <<PROPERTIES
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@127.0.0.1:9093
controller.listener.names=CONTROLLER
listeners=SASL_SSL://:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=SASL_SSL://kafka:9092
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$JAAS
ssl.keystore.type=PEM
ssl.keystore.location=$TLS/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS/ca.crt
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS
log.dirs=$DATA
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPERTIES
# User:ANONYMOUS is the controller listener's (loopback only, inside this container).

if [ ! -f "$DATA/meta.properties" ]; then
  scram=()
  for login in "admin:$KAFKA_ADMIN_PASSWORD" "shouhu-registry:$KAFKA_REGISTRY_PASSWORD" \
               "shouhu-pairing:$KAFKA_PAIRING_PASSWORD" "shouhu-visits:$KAFKA_VISITS_PASSWORD" \
               "shouhu-notify:$KAFKA_NOTIFY_PASSWORD" "shouhu-reports:$KAFKA_REPORTS_PASSWORD"; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=${login%%:*},password=${login#*:}]")
  done
  /opt/kafka/bin/kafka-storage.sh format -t "$CLUSTER_ID" -c "$CONFIG" "${scram[@]}"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$CONFIG"

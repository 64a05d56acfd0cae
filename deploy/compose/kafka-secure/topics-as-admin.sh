#!/usr/bin/env bash
# kafka-topics.sh as the admin login: create-topics.sh calls this as its KAFKA_TOPICS.
exec /shouhu/kafka-secure/admin-client.sh kafka-topics.sh "$@"

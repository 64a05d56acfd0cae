"""Where the tests find PostgreSQL and Kafka.

1. SHOUHU_TEST_PG_URL and SHOUHU_TEST_KAFKA_BOOTSTRAP, when set (`make test` sets them
   from scripts/infra, which starts both on loopback);
2. otherwise testcontainers, when a Docker engine answers;
3. otherwise the run stops with the command that starts local infrastructure.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass

HOW_TO_START = ('no PostgreSQL/Kafka for the tests: run `make test`, or start them with '
                '`scripts/infra up` and `eval "$(scripts/infra env)"`, or make a Docker engine reachable')


@dataclass(frozen=True)
class Infrastructure:
    pg_admin_url: str  # a URL whose role may CREATE DATABASE; the database part is ignored
    kafka_bootstrap: str

    def database_url(self, database: str) -> str:
        base, _, _ = self.pg_admin_url.rpartition("/")
        return f"{base}/{database}"


def _docker_reachable() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def start_infrastructure(stack: ExitStack) -> Infrastructure:
    pg_url = os.environ.get("SHOUHU_TEST_PG_URL")
    kafka = os.environ.get("SHOUHU_TEST_KAFKA_BOOTSTRAP")
    if pg_url and kafka:
        return Infrastructure(pg_url, kafka)
    if _docker_reachable():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        postgres = stack.enter_context(PostgresContainer("postgres:15", driver=None))
        broker = stack.enter_context(KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft())
        return Infrastructure(postgres.get_connection_url(), broker.get_bootstrap_server())
    raise RuntimeError(HOW_TO_START)

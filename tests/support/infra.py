"""Where the tests find PostgreSQL and Kafka.

1. SHOUHU_TEST_PG_URL and SHOUHU_TEST_KAFKA_BOOTSTRAP, when set (`make test` sets them
   from scripts/infra, which starts both on loopback);
2. otherwise testcontainers, when a Docker engine answers;
3. otherwise the run stops with the command that starts local infrastructure.
"""

from __future__ import annotations

import os
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field

HOW_TO_START = ('no PostgreSQL/Kafka for the tests: run `make test`, or start them with '
                '`scripts/infra up` and `eval "$(scripts/infra env)"`, or make a Docker engine reachable')


@dataclass(frozen=True)
class Infrastructure:
    pg_admin_url: str  # a URL whose role may CREATE DATABASE; the database part is ignored
    kafka_bootstrap: str
    # What this test session created, so that it can remove it at the end: left behind, the
    # databases fill the disk and thousands of topics make the local broker slow to start.
    created_databases: list[str] = field(default_factory=list, compare=False)
    topic_prefixes: list[str] = field(default_factory=list, compare=False)
    # Per service with reference data (the registry's division register, ~665,000 rows):
    # a database migrated and loaded once per session, copied by PostgreSQL for each test
    # database (CREATE DATABASE … TEMPLATE) instead of loading the data again every time.
    reference_templates: dict[str, str] = field(default_factory=dict, compare=False)

    def new_topic_prefix(self, label: str = "t") -> str:
        """A fresh namespace of topics, so tests never read each other's events."""
        prefix = f"{label}{uuid.uuid4().hex[:10]}."
        self.topic_prefixes.append(prefix)
        return prefix

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

"""Settings shared by every service, read from the environment with pydantic-settings.

Each service subclasses `ServiceSettings` with its own `env_prefix` (SHOUHU_REGISTRY_, ...)
so one machine can run all four with different databases and ports. Kafka and auth
settings are read without the service prefix too, because they are the same for all.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clock import DEFAULT_COUNTY_TIMEZONE, Clock, fixed_instant, parse_offset, zone

# A development-only HMAC key, public in this file. Outside development mode a process refuses
# to start unless auth is OIDC (shared/safety.py), so a token signed with it is never accepted.
DEV_SIGNING_KEY = "shouhu-dev-signing-key-not-for-production-use-0001"
DEV_ISSUER = "shouhu-dev"
DEV_AUDIENCE = "shouhu"


def development_mode() -> bool:
    """True only when explicitly asked for (`SHOUHU_ENV=development`, which `make up` and
    `make test` set). Everything else is production: closed by default."""
    return os.environ.get("SHOUHU_ENV", "").strip().lower() == "development"


class AuthSettings(BaseSettings):
    """How bearer tokens are verified. Shared by all services (prefix SHOUHU_AUTH_)."""

    model_config = SettingsConfigDict(env_prefix="SHOUHU_AUTH_", extra="ignore")

    mode: Literal["dev", "oidc"] = "dev"
    dev_signing_key: SecretStr = SecretStr(DEV_SIGNING_KEY)
    # In oidc mode both are required (no default an attacker could guess); dev mode fills in
    # the development values when they are not set.
    issuer: str | None = None
    audience: str | None = None
    oidc_jwks_url: str | None = None
    # Development only: in dev mode, tokens of this identity provider (its issuer; keys at
    # SHOUHU_AUTH_OIDC_JWKS_URL) are accepted beside the locally signed ones, so one development
    # stack serves both the demo sign-in and a real provider's (scripts/infra's Keycloak).
    # Refused outside development mode (shared/auth.py).
    dev_idp_issuer: str | None = None
    # A fixed list: the token's own "alg" header is never trusted on its own.
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    jwks_cache_seconds: int = 300
    # A token whose kid is not in the cached key set makes the JWKS be fetched again, but at
    # most once per this many seconds: forged kids must not turn into a flood on the IdP.
    jwks_refetch_interval_seconds: float = 60.0
    jwks_timeout_seconds: float = 5.0
    leeway_seconds: int = 30
    # A token living longer than this (exp - iat, or exp - now) is refused: a stolen
    # long-lived token would otherwise stay good for years.
    max_token_lifetime_seconds: int = 12 * 3600

    @model_validator(mode="after")
    def _development_defaults(self) -> "AuthSettings":
        self.issuer = self.issuer or None
        self.audience = self.audience or None
        self.oidc_jwks_url = self.oidc_jwks_url or None
        self.dev_idp_issuer = self.dev_idp_issuer or None
        if self.mode == "dev":
            self.issuer = self.issuer or DEV_ISSUER
            self.audience = self.audience or DEV_AUDIENCE
        return self


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "service"
    database_url: str = "postgresql://shouhu:shouhu@127.0.0.1:55432/shouhu"
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("kafka_bootstrap_servers", "SHOUHU_KAFKA_BOOTSTRAP_SERVERS"),
    )
    # Prepended to every topic name, so that several counties (or test runs) can share
    # one Kafka cluster without reading each other's events.
    kafka_topic_prefix: str = Field(
        default="",
        validation_alias=AliasChoices("kafka_topic_prefix", "SHOUHU_KAFKA_TOPIC_PREFIX"),
    )
    kafka_topic_partitions: int = 6
    kafka_replication_factor: int = 1
    # How every Kafka client connects (shared/kafka_security.py). PLAINTEXT for a local
    # broker; production uses SASL_SSL with SCRAM-SHA-512, one user per service.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        validation_alias=AliasChoices("kafka_security_protocol", "SHOUHU_KAFKA_SECURITY_PROTOCOL"),
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        default="SCRAM-SHA-512",
        validation_alias=AliasChoices("kafka_sasl_mechanism", "SHOUHU_KAFKA_SASL_MECHANISM"),
    )
    kafka_sasl_username: str | None = Field(
        default=None, validation_alias=AliasChoices("kafka_sasl_username", "SHOUHU_KAFKA_SASL_USERNAME"))
    kafka_sasl_password: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("kafka_sasl_password", "SHOUHU_KAFKA_SASL_PASSWORD"))
    # The password as a mounted file (a Strimzi KafkaUser's Secret), read when a client is made.
    kafka_sasl_password_file: str | None = Field(
        default=None, validation_alias=AliasChoices("kafka_sasl_password_file", "SHOUHU_KAFKA_SASL_PASSWORD_FILE"))
    # The CA that signed the brokers' certificates (Strimzi's cluster CA); None: the system's.
    kafka_ssl_cafile: str | None = Field(
        default=None, validation_alias=AliasChoices("kafka_ssl_cafile", "SHOUHU_KAFKA_SSL_CAFILE"))
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # When set, the api serves /metrics on this port only, and nothing else there: the port
    # the gateway or Ingress routes never exposes metrics (shared/metrics.py, MetricsPortSplit).
    metrics_port: int | None = None
    # The worker's /metrics (shared/worker_metrics.py); without it, the worker takes
    # `metrics_port` (on Kubernetes api and worker are separate pods, both on 9100). A
    # machine running both processes of a service (scripts/stack) gives the worker its own.
    worker_metrics_port: int | None = None

    # Every wait is bounded: a pool acquire, a statement, a Kafka request.
    pool_min_size: int = 1
    pool_max_size: int = 10
    pool_acquire_timeout_s: float = 5.0
    statement_timeout_ms: int = 15_000
    kafka_request_timeout_ms: int = 15_000

    # Outbox relay.
    relay_batch_size: int = 500
    relay_poll_interval_s: float = 1.0

    # Consumer loop.
    consumer_group: str | None = None
    consumer_max_attempts: int = 5
    consumer_retry_base_s: float = 0.05
    consumer_parked_retry_interval_s: float = 5.0
    consumer_max_batch: int = 500
    # Fault injection for the crash test only: after a batch's database commit and before
    # its offset commit, log "consumer.db_committed" and wait this long.
    debug_pause_before_offset_commit_s: float = 0.0

    # Worker liveness (shared/liveness.py): the heartbeat file, refreshed while every loop
    # progresses; `shouhu alive SERVICE` is the worker's liveness probe.
    worker_heartbeat_file: str | None = None
    worker_stall_after_s: float = 120.0
    # Lag as the broker sees it (shared/lag.py), sampled this often by each worker; figures
    # older than `progress_stale_after_s` mean their worker stopped reporting ("stalled").
    lag_sample_interval_s: float = 10.0
    progress_stale_after_s: float = 60.0

    # The clock (shared/clock.py): the county's calendar, and for tests and rehearsals a
    # shifted or frozen "now". Read without the service prefix: one county, one calendar.
    county_timezone: str = Field(
        default=DEFAULT_COUNTY_TIMEZONE,
        validation_alias=AliasChoices("county_timezone", "SHOUHU_COUNTY_TIMEZONE"),
    )
    clock_offset: timedelta = Field(
        default=timedelta(0), validation_alias=AliasChoices("clock_offset", "SHOUHU_CLOCK_OFFSET"),
    )
    clock_now: datetime | None = Field(
        default=None, validation_alias=AliasChoices("clock_now", "SHOUHU_CLOCK_NOW"),
    )

    # Housekeeping (shared/housekeeping.py): the worker prunes the plumbing tables this often
    # (0: never; `shouhu prune` does it by hand).
    prune_interval_s: float = 86_400.0
    # How many whole months the trails (change_history, read_audit) are kept before the
    # housekeeping drops their month (shared/partitions.py); unset: kept for ever. One policy
    # for the deployment, read without the service prefix. At least 6: the Cybersecurity Law
    # (art. 21) asks network logs to be kept no less than six months.
    trail_retention_months: int | None = Field(
        default=None, ge=6,
        validation_alias=AliasChoices("trail_retention_months", "SHOUHU_TRAIL_RETENTION_MONTHS"),
    )

    log_level: str = "INFO"
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @field_validator("county_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except (ValueError, KeyError, OSError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("clock_offset", mode="before")
    @classmethod
    def _offset(cls, value: object) -> timedelta:
        return parse_offset(value)  # type: ignore[arg-type]

    @field_validator("clock_now", mode="before")
    @classmethod
    def _fixed(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def clock(self) -> Clock:
        """Built on each use from the current settings, so a test that changes `clock_now`
        moves every part that reads these settings."""
        return Clock(county_timezone=self.county_timezone, offset=self.clock_offset,
                     fixed=fixed_instant(self.clock_now, self.county_timezone))

    @property
    def worker_metrics_listen_port(self) -> int | None:
        return self.worker_metrics_port if self.worker_metrics_port is not None else self.metrics_port

    @property
    def heartbeat_path(self) -> str:
        return self.worker_heartbeat_file or f"/tmp/shouhu-{self.service_name}-worker.alive"

    @property
    def group_id(self) -> str:
        """The consumer groups' common prefix (each consumer appends `.<its name>`). It carries
        the topic prefix, so counties sharing one Kafka never share a group: a shared group
        would split one county's events between both counties' workers."""
        return self.consumer_group or f"{self.kafka_topic_prefix}shouhu-{self.service_name}"


def load_secret_file(path: str | None) -> str | None:
    """Reads a secret mounted as a file (Kubernetes Secret, docker secret)."""
    if not path:
        return None
    return Path(path).read_text(encoding="utf-8").strip()

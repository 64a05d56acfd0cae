"""Settings shared by every service, read from the environment with pydantic-settings.

Each service subclasses `ServiceSettings` with its own `env_prefix` (SHOUHU_REGISTRY_, ...)
so one machine can run all four with different databases and ports. Kafka and auth
settings are read without the service prefix too, because they are the same for all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clock import DEFAULT_COUNTY_TIMEZONE, Clock, fixed_instant, parse_offset, zone

# A development-only HMAC key. Production uses OIDC (auth_mode="oidc") and refuses to start
# with dev auth unless explicitly allowed, see ServiceSettings.check_production_safety.
DEV_SIGNING_KEY = "shouhu-dev-signing-key-not-for-production-use-0001"


class AuthSettings(BaseSettings):
    """How bearer tokens are verified. Shared by all services (prefix SHOUHU_AUTH_)."""

    model_config = SettingsConfigDict(env_prefix="SHOUHU_AUTH_", extra="ignore")

    mode: Literal["dev", "oidc"] = "dev"
    dev_signing_key: SecretStr = SecretStr(DEV_SIGNING_KEY)
    issuer: str = "shouhu-dev"
    audience: str = "shouhu"
    oidc_jwks_url: str | None = None
    # A fixed list: the token's own "alg" header is never trusted on its own.
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    jwks_cache_seconds: int = 300
    leeway_seconds: int = 30


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
    http_host: str = "127.0.0.1"
    http_port: int = 8000

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
    def heartbeat_path(self) -> str:
        return self.worker_heartbeat_file or f"/tmp/shouhu-{self.service_name}-worker.alive"

    @property
    def group_id(self) -> str:
        return self.consumer_group or f"shouhu-{self.service_name}"


def load_secret_file(path: str | None) -> str | None:
    """Reads a secret mounted as a file (Kubernetes Secret, docker secret)."""
    if not path:
        return None
    return Path(path).read_text(encoding="utf-8").strip()

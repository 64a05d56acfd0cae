"""Notify's settings (prefix SHOUHU_NOTIFY_). Provider secrets come from the environment or,
better, from mounted files (`*_FILE`); nothing is created at import."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, load_secret_file


def secret(value: SecretStr | None, path: str | None) -> str | None:
    """A secret from its file when one is named, else from the setting."""
    from_file = load_secret_file(path)
    if from_file is not None:
        return from_file
    return value.get_secret_value() if value is not None else None


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_NOTIFY_", extra="ignore", populate_by_name=True)

    service_name: str = "notify"
    database_url: str = "postgresql://shouhu:shouhu@127.0.0.1:55432/shouhu_notify"
    http_port: int = 8004

    # Where contact points are fetched at send time (never stored here).
    pairing_base_url: str = "http://127.0.0.1:8002"
    registry_base_url: str = "http://127.0.0.1:8001"
    contact_fetch_timeout_s: float = 5.0
    # The jurisdiction in notify's own development service token ('000000000000' = all;
    # a county's deployment sets its county code). In OIDC mode the identity provider decides.
    service_jurisdiction: str = "000000000000"

    # The delivery loop.
    delivery_enabled: bool = True
    delivery_poll_interval_s: float = 1.0
    delivery_batch_size: int = 100
    delivery_concurrency: int = 32
    delivery_lease_s: float = 60.0
    delivery_max_attempts: int = 6
    delivery_backoff_base_s: float = 30.0
    delivery_backoff_max_s: float = 3600.0
    provider_timeout_s: float = 10.0

    # Per-channel rate limits, messages per minute, shared by every replica (DB token bucket).
    # Group robots allow 20 a minute (WeCom and DingTalk both document that limit).
    rate_sms_per_minute: float = 6000.0
    rate_email_per_minute: float = 600.0
    rate_wecom_per_minute: float = 20.0
    rate_dingtalk_per_minute: float = 20.0
    rate_webhook_per_minute: float = 6000.0

    # Quiet hours by recipient kind unless the recipient chose others ('' = none).
    quiet_hours_guardian: str = "21:00-07:30"
    quiet_hours_caregiver: str = "22:00-07:00"
    quiet_hours_staff: str = ""
    # Quiet hours are read in the recipient's zone, by default the county's (county_timezone).
    default_locale: str = "zh-CN"

    # Plain-http webhooks and robots only to loopback, and only when this is on (development).
    allow_loopback_http: bool = True

    # SMS: which provider, and its credentials.
    sms_provider: Literal["http", "aliyun", "tencent", "none"] = "http"
    sms_http_url: str | None = None
    sms_http_token: SecretStr | None = None
    sms_http_token_file: str | None = None
    aliyun_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    aliyun_access_key_id: str | None = None
    aliyun_access_key_secret: SecretStr | None = None
    aliyun_access_key_secret_file: str | None = None
    aliyun_sign_name: str = ""
    aliyun_region: str = "cn-hangzhou"
    aliyun_template_codes: dict[str, str] = {}
    tencent_endpoint: str = "https://sms.tencentcloudapi.com"
    tencent_secret_id: str | None = None
    tencent_secret_key: SecretStr | None = None
    tencent_secret_key_file: str | None = None
    tencent_sdk_app_id: str = ""
    tencent_sign_name: str = ""
    tencent_region: str = "ap-guangzhou"
    tencent_template_ids: dict[str, str] = {}
    # Replies to SMS, posted back by the HTTP provider to POST /v1/sms/replies, signed with
    # HMAC-SHA256 under this secret (services/notify/api_family_replies.py); unset: the route
    # answers 404 and no reply is recorded.
    sms_reply_secret: SecretStr | None = None
    sms_reply_secret_file: str | None = None

    # Email over SMTP.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_password_file: str | None = None
    smtp_starttls: bool = True
    smtp_use_tls: bool = False
    smtp_from: str = "shouhu@localhost"


def load_settings() -> NotifySettings:
    return NotifySettings()

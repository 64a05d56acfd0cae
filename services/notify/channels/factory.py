"""Builds the channel adapters from settings (credentials from settings or secret files)."""

from __future__ import annotations

import httpx

from services.notify.channels.base import ChannelAdapter
from services.notify.channels.email import SmtpAdapter
from services.notify.channels.robots import DingTalkRobotAdapter, WeComRobotAdapter
from services.notify.channels.sms import AliyunSmsAdapter, HttpSmsAdapter, TencentSmsAdapter
from services.notify.channels.webhook import WebhookAdapter
from services.notify.config import NotifySettings, secret


# Robots and webhooks need no provider: each address is its own endpoint.
SELF_PROVIDED = ("wecom", "dingtalk", "webhook")


def configured_channels(settings: NotifySettings) -> tuple[str, ...]:
    """The channels these settings give a provider (what `build_adapters` builds), without
    building anything: for the setup check and the delivery loop's held messages."""
    sms = ((settings.sms_provider == "http" and bool(settings.sms_http_url))
           or (settings.sms_provider == "aliyun" and bool(settings.aliyun_access_key_id))
           or (settings.sms_provider == "tencent" and bool(settings.tencent_secret_id)))
    return SELF_PROVIDED + (("sms",) if sms else ()) + (("email",) if settings.smtp_host else ())


def build_adapters(settings: NotifySettings, client: httpx.AsyncClient) -> dict[str, ChannelAdapter]:
    """One adapter per channel that is configured; a message on a channel without one is
    held (reason no_provider, listed for county staff) and goes out once it is configured."""
    adapters: dict[str, ChannelAdapter] = {
        "wecom": WeComRobotAdapter(client), "dingtalk": DingTalkRobotAdapter(client), "webhook": WebhookAdapter(client),
    }
    if settings.sms_provider == "http" and settings.sms_http_url:
        adapters["sms"] = HttpSmsAdapter(client, settings.sms_http_url,
                                         secret(settings.sms_http_token, settings.sms_http_token_file))
    elif settings.sms_provider == "aliyun" and settings.aliyun_access_key_id:
        adapters["sms"] = AliyunSmsAdapter(
            client, endpoint=settings.aliyun_endpoint, access_key_id=settings.aliyun_access_key_id,
            access_key_secret=secret(settings.aliyun_access_key_secret, settings.aliyun_access_key_secret_file) or "",
            sign_name=settings.aliyun_sign_name, template_codes=settings.aliyun_template_codes,
            region=settings.aliyun_region)
    elif settings.sms_provider == "tencent" and settings.tencent_secret_id:
        adapters["sms"] = TencentSmsAdapter(
            client, endpoint=settings.tencent_endpoint, secret_id=settings.tencent_secret_id,
            secret_key=secret(settings.tencent_secret_key, settings.tencent_secret_key_file) or "",
            sdk_app_id=settings.tencent_sdk_app_id, sign_name=settings.tencent_sign_name,
            template_ids=settings.tencent_template_ids, region=settings.tencent_region)
    if settings.smtp_host:
        adapters["email"] = SmtpAdapter(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
            username=settings.smtp_username, password=secret(settings.smtp_password, settings.smtp_password_file),
            starttls=settings.smtp_starttls, use_tls=settings.smtp_use_tls, timeout_s=settings.provider_timeout_s)
    return adapters

"""The adapter interface every channel implements, and what a send returns.

An adapter never raises for a provider's answer: it classifies it. `retryable` failures
(timeouts, 5xx, rate limiting) come back later with backoff; the others (an address the
provider refuses) will not succeed by trying again. Adapters log nothing personal: the
delivery loop logs ids and reasons only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: str             # also the provider's idempotency / out-id, where it has one
    channel: str
    address: Any                 # phone (E.164), email, robot {"url", "secret"}, webhook {"url", "secret"}
    template: str
    subject: str = ""
    text: str = ""
    variables: dict[str, str] = field(default_factory=dict)  # localised, for provider-side templates
    event_type: str = ""
    source_event_id: str = ""
    child_id: str | None = None
    payload: dict[str, Any] | None = None  # the source event's data (webhooks)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retryable: bool = False
    reason: str = "other"        # a FailureReason of the contract when not ok
    provider_ref: str | None = None

    @classmethod
    def sent(cls, provider_ref: str | None = None) -> "SendResult":
        return cls(ok=True, provider_ref=provider_ref)

    @classmethod
    def retry(cls, reason: str) -> "SendResult":
        return cls(ok=False, retryable=True, reason=reason)

    @classmethod
    def give_up(cls, reason: str) -> "SendResult":
        return cls(ok=False, retryable=False, reason=reason)


class ChannelAdapter(Protocol):
    channel: str

    async def send(self, message: OutgoingMessage) -> SendResult: ...


def classify_http(response: httpx.Response) -> SendResult | None:
    """The common reading of an HTTP status: None when 2xx (the caller reads the body)."""
    if 200 <= response.status_code < 300:
        return None
    if response.status_code == 429:
        return SendResult.retry("rate_limited")
    if response.status_code >= 500 or response.status_code in (408, 409, 425):
        return SendResult.retry("provider_error")
    if response.status_code in (400, 404, 422):
        return SendResult.give_up("invalid_address")
    return SendResult.retry("provider_error")  # 401/403: credentials may be fixed; keep trying


async def post_safely(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response | SendResult:
    """A POST whose transport failures become results: a timeout is retried, never lost."""
    try:
        return await client.post(url, **kwargs)
    except httpx.TimeoutException:
        return SendResult.retry("timeout")
    except httpx.HTTPError:
        return SendResult.retry("provider_error")

"""Generic webhook for other government systems: the source event as a CloudEvent over HTTP in
binary content mode (ce-* headers, the event's JSON as the body), signed with HMAC-SHA256.

The CloudEvent id is the delivery id, the same on every retry, so a receiver deduplicates.
Signature header: `X-Shouhu-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import httpx

from services.notify.channels.base import OutgoingMessage, SendResult, classify_http, post_safely
from services.notify.channels.signing import webhook_signature


class WebhookAdapter:
    channel = "webhook"

    def __init__(self, client: httpx.AsyncClient, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        self._client = client
        self._clock = clock

    def request(self, message: OutgoingMessage) -> tuple[dict[str, str], bytes]:
        body = json.dumps(message.payload or {}, ensure_ascii=False, separators=(",", ":")).encode()
        now = int(self._clock())
        headers = {
            "ce-specversion": "1.0", "ce-id": message.delivery_id, "ce-source": "/shouhu/notify",
            "ce-type": f"cn.shouhu.{message.event_type}.v1",
            "ce-time": datetime.fromtimestamp(now, tz=timezone.utc).isoformat(),
            "content-type": "application/json",
            "X-Shouhu-Signature": f"t={now},v1={webhook_signature(message.address['secret'], now, body)}",
        }
        if message.child_id:
            headers["ce-subject"] = message.child_id
        return headers, body

    async def send(self, message: OutgoingMessage) -> SendResult:
        headers, body = self.request(message)
        response = await post_safely(self._client, message.address["url"], headers=headers, content=body)
        if isinstance(response, SendResult):
            return response
        failure = classify_http(response)
        if failure is not None and failure.reason == "invalid_address" and response.status_code != 404:
            return SendResult.give_up("other")  # the receiver rejects this event; retrying will not help
        return failure or SendResult.sent()

"""Replies to SMS, posted back by the HTTP SMS provider: the only route here without a bearer
token. The provider signs each post: header `X-Signature` = hex HMAC-SHA256, under the
configured `sms_reply_secret`, of `{X-Signature-Timestamp}.{raw body}`; a timestamp more than
five minutes from the clock is refused, so a captured post cannot be replayed later.

Body: {"id": the provider's id of the reply, "message_id": our delivery id it answers (the
`message_id` we sent), "text": the reply, "received_at": when}. A reply to a message that was
not sent to a family is acknowledged and dropped (the provider must not retry it). The phone
number is not taken: the message id says who answered.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from uuid import UUID

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.notify import commands_family
from services.notify.config import NotifySettings, secret
from shared.routes import cipher_of, transaction
from shared.rules import Refusal

router = APIRouter(prefix="/v1", tags=["families"])

SKEW = timedelta(minutes=5)


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    message_id: UUID
    text: str = Field(min_length=1, max_length=1000)
    received_at: datetime


class ReplyAck(BaseModel):
    recorded: bool


def signature(secret_value: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret_value.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# Not in the OpenAPI document: the provider, not a client of the generated API, calls it.
@router.post("/sms/replies", response_model=ReplyAck, include_in_schema=False)
async def sms_reply(request: Request, x_signature: str = Header(max_length=200),
                    x_signature_timestamp: str = Header(max_length=20)) -> dict[str, bool]:
    """A family member's reply, as the SMS provider posts it (signed, see the module)."""
    settings: NotifySettings = request.app.state.settings
    key = secret(settings.sms_reply_secret, settings.sms_reply_secret_file)
    if not key:
        raise Refusal(404, "not_found", "replies are not configured")
    raw = await request.body()
    if not hmac.compare_digest(signature(key, x_signature_timestamp, raw), x_signature):
        raise Refusal(401, "bad_signature", "the signature does not match")
    now = settings.clock.now()
    try:
        sent_at = datetime.fromtimestamp(int(x_signature_timestamp), tz=now.tzinfo)
    except (ValueError, OverflowError, OSError) as exc:
        raise Refusal(401, "bad_signature", "the timestamp is not a number of seconds") from exc
    if abs(now - sent_at) > SKEW:
        raise Refusal(401, "stale_signature", "the timestamp is more than five minutes from now")
    try:
        reply = ReplyIn.model_validate_json(raw)
    except ValidationError as exc:
        raise Refusal(422, "unreadable", "not a reply body: id, message_id, text, received_at") from exc
    async with transaction(request) as conn:
        recorded = await commands_family.record_reply(
            conn, cipher_of(request), provider_id=reply.id, notification_id=reply.message_id, text=reply.text,
            received_at=reply.received_at)
    return {"recorded": bool(recorded)}

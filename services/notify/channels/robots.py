"""WeCom (企业微信) and DingTalk (钉钉) group robots: a text message POSTed to the robot's
webhook URL. DingTalk robots with "加签" security get `timestamp` and `sign` query parameters."""

from __future__ import annotations

import time

import httpx

from services.notify.channels.base import OutgoingMessage, SendResult, classify_http, post_safely
from services.notify.channels.signing import dingtalk_sign

_RATE_LIMITED = {45009, 130101, 45033}


def _robot_result(response: httpx.Response) -> SendResult:
    failure = classify_http(response)
    if failure is not None:
        return failure
    try:
        code = int(response.json().get("errcode", 0))
    except (ValueError, AttributeError, TypeError):
        return SendResult.retry("provider_error")
    if code == 0:
        return SendResult.sent()
    if code in _RATE_LIMITED:
        return SendResult.retry("rate_limited")
    if code in (93000, 310000, 300001, 400013):  # invalid or disabled robot key / signature
        return SendResult.give_up("invalid_address")
    return SendResult.retry("provider_error")


class WeComRobotAdapter:
    channel = "wecom"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, message: OutgoingMessage) -> SendResult:
        response = await post_safely(self._client, message.address["url"],
                                     json={"msgtype": "text", "text": {"content": message.text}})
        return response if isinstance(response, SendResult) else _robot_result(response)


class DingTalkRobotAdapter:
    channel = "dingtalk"

    def __init__(self, client: httpx.AsyncClient, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        self._client = client
        self._clock = clock

    def signed_url(self, url: str, secret: str | None) -> str:
        if not secret:
            return url
        timestamp = int(self._clock() * 1000)
        joiner = "&" if "?" in url else "?"
        return f"{url}{joiner}timestamp={timestamp}&sign={dingtalk_sign(secret, timestamp)}"

    async def send(self, message: OutgoingMessage) -> SendResult:
        url = self.signed_url(message.address["url"], message.address.get("secret"))
        response = await post_safely(self._client, url, json={"msgtype": "text", "text": {"content": message.text}})
        return response if isinstance(response, SendResult) else _robot_result(response)

"""SMS adapters: a generic HTTP provider, and adapters shaped like Aliyun's and Tencent Cloud's
SendSms APIs with their request signing. The delivery id travels as each provider's own
idempotency / out-id field, so a retried send after a lost answer can be recognised."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx

from services.notify.channels.base import OutgoingMessage, SendResult, classify_http, post_safely
from services.notify.channels.signing import aliyun_signature, tc3_authorization


def _national(e164: str) -> str:
    """Mainland providers take 11-digit numbers for +86 and full international ones otherwise."""
    return e164[3:] if e164.startswith("+86") else e164.lstrip("+")


class HttpSmsAdapter:
    """POST {"to", "text", "message_id"} as JSON, bearer token, Idempotency-Key = delivery id."""

    channel = "sms"

    def __init__(self, client: httpx.AsyncClient, url: str, token: str | None = None) -> None:
        self._client = client
        self._url = url
        self._token = token

    async def send(self, message: OutgoingMessage) -> SendResult:
        headers = {"Idempotency-Key": message.delivery_id}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        response = await post_safely(self._client, self._url, headers=headers, json={
            "to": message.address, "text": message.text, "message_id": message.delivery_id})
        if isinstance(response, SendResult):
            return response
        failure = classify_http(response)
        if failure is not None:
            return failure
        try:
            ref = str(response.json().get("id") or "") or None
        except (ValueError, AttributeError):
            ref = None
        return SendResult.sent(ref)


class AliyunSmsAdapter:
    """Aliyun SendSms (API version 2017-05-25), POP RPC signature v1, POSTed as a form."""

    channel = "sms"

    def __init__(self, client: httpx.AsyncClient, *, endpoint: str, access_key_id: str, access_key_secret: str,
                 sign_name: str, template_codes: dict[str, str], region: str = "cn-hangzhou") -> None:
        self._client = client
        self._endpoint = endpoint
        self._key_id = access_key_id
        self._secret = access_key_secret
        self._sign_name = sign_name
        self._codes = template_codes
        self._region = region

    def signed_params(self, message: OutgoingMessage, *, nonce: str | None = None,
                      timestamp: str | None = None) -> dict[str, str]:
        params = {
            "AccessKeyId": self._key_id, "Action": "SendSms", "Format": "JSON", "OutId": message.delivery_id,
            "PhoneNumbers": _national(message.address), "RegionId": self._region, "SignName": self._sign_name,
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0", "TemplateCode": self._codes.get(message.template, ""),
            "TemplateParam": json.dumps(message.variables, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": timestamp or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(params, self._secret, method="POST")
        return params

    async def send(self, message: OutgoingMessage) -> SendResult:
        if message.template not in self._codes:
            return SendResult.retry("other")  # configuration missing: retried until fixed, then dead-lettered
        response = await post_safely(self._client, self._endpoint, data=self.signed_params(message))
        if isinstance(response, SendResult):
            return response
        try:
            body = response.json()
        except ValueError:
            return classify_http(response) or SendResult.retry("provider_error")
        code = str(body.get("Code", ""))
        if code == "OK":
            return SendResult.sent(body.get("BizId"))
        if "LIMIT_CONTROL" in code or code == "Throttling.User":
            return SendResult.retry("rate_limited")
        if code in ("isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"):
            return SendResult.give_up("invalid_address")
        return SendResult.retry("provider_error")


class TencentSmsAdapter:
    """Tencent Cloud SendSms (API version 2021-01-11), TC3-HMAC-SHA256 signed JSON POST.
    Template parameters go in the order of the template's variable names, sorted."""

    channel = "sms"

    def __init__(self, client: httpx.AsyncClient, *, endpoint: str, secret_id: str, secret_key: str,
                 sdk_app_id: str, sign_name: str, template_ids: dict[str, str], region: str = "ap-guangzhou") -> None:
        self._client = client
        self._endpoint = endpoint
        self._host = urlsplit(endpoint).netloc
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._app_id = sdk_app_id
        self._sign_name = sign_name
        self._template_ids = template_ids
        self._region = region

    def request(self, message: OutgoingMessage, *, timestamp: int | None = None) -> tuple[dict[str, str], str]:
        payload = json.dumps({
            "PhoneNumberSet": [message.address], "SmsSdkAppId": self._app_id, "SignName": self._sign_name,
            "TemplateId": self._template_ids.get(message.template, ""),
            "TemplateParamSet": [message.variables[name] for name in sorted(message.variables)],
            "SessionContext": message.delivery_id,
        }, ensure_ascii=False, separators=(",", ":"))
        ts = timestamp or int(time.time())
        headers = {
            "Authorization": tc3_authorization(secret_id=self._secret_id, secret_key=self._secret_key,
                                               service="sms", host=self._host, payload=payload, timestamp=ts),
            "Content-Type": "application/json; charset=utf-8", "Host": self._host, "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(ts), "X-TC-Version": "2021-01-11", "X-TC-Region": self._region,
        }
        return headers, payload

    async def send(self, message: OutgoingMessage) -> SendResult:
        if message.template not in self._template_ids:
            return SendResult.retry("other")
        headers, payload = self.request(message)
        response = await post_safely(self._client, self._endpoint, headers=headers, content=payload.encode())
        if isinstance(response, SendResult):
            return response
        try:
            body = response.json().get("Response", {})
        except (ValueError, AttributeError):
            return classify_http(response) or SendResult.retry("provider_error")
        error = body.get("Error")
        if error:
            return _tencent_failure(str(error.get("Code", "")))
        statuses = body.get("SendStatusSet") or [{}]
        code = str(statuses[0].get("Code", ""))
        if code == "Ok":
            return SendResult.sent(statuses[0].get("SerialNo"))
        return _tencent_failure(code)


def _tencent_failure(code: str) -> SendResult:
    if "LimitExceeded" in code or code.startswith("RequestLimitExceeded"):
        return SendResult.retry("rate_limited")
    if "PhoneNumber" in code:
        return SendResult.give_up("invalid_address")
    return SendResult.retry("provider_error")

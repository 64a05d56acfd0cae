"""Channel adapters against a real local HTTP server: what they send, how they read answers."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest

from services.notify.channels.base import OutgoingMessage
from services.notify.channels.robots import WeComRobotAdapter
from services.notify.channels.signing import aliyun_signature, tc3_authorization
from services.notify.channels.sms import AliyunSmsAdapter, HttpSmsAdapter, TencentSmsAdapter
from tests.notify.fakes import FakeHttp, serving

MESSAGE = OutgoingMessage(delivery_id="11111111-2222-3333-4444-555555555555", channel="sms",
                          address="+8613800138000", template="duty_due_soon", text="温馨提醒",
                          variables={"duty": "家访", "due_on": "2026-12-01"})


async def test_aliyun_shaped_adapter_sends_a_verifiable_signed_form() -> None:
    answers = iter([(200, {"Code": "OK", "BizId": "biz-1"}), (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL"}),
                    (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL"})])
    async with serving(FakeHttp(lambda r: next(answers))) as fake, httpx.AsyncClient() as client:
        adapter = AliyunSmsAdapter(client, endpoint=f"{fake.base_url}/", access_key_id="ak", access_key_secret="sk",
                                   sign_name="守护平台", template_codes={"duty_due_soon": "SMS_100"})
        ok = await adapter.send(MESSAGE)
        limited = await adapter.send(MESSAGE)
        refused = await adapter.send(MESSAGE)
    assert ok.ok and ok.provider_ref == "biz-1"
    assert limited.retryable and limited.reason == "rate_limited"
    assert not refused.retryable and refused.reason == "invalid_address"
    params = dict(parse_qsl(fake.requests[0].body.decode()))
    assert params["OutId"] == MESSAGE.delivery_id and params["TemplateCode"] == "SMS_100"
    assert params["Signature"] == aliyun_signature(params, "sk", method="POST")


async def test_tencent_shaped_adapter_signs_and_reads_send_status() -> None:
    answers = iter([(200, {"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": "s-1"}], "RequestId": "r"}}),
                    (200, {"Response": {"Error": {"Code": "LimitExceeded.PhoneNumberDailyLimit"}}}),
                    (200, {"Response": {"SendStatusSet": [{"Code": "InvalidParameterValue.IncorrectPhoneNumber"}]}})])
    async with serving(FakeHttp(lambda r: next(answers))) as fake, httpx.AsyncClient() as client:
        adapter = TencentSmsAdapter(client, endpoint=fake.base_url, secret_id="id", secret_key="key",
                                    sdk_app_id="1400", sign_name="守护", template_ids={"duty_due_soon": "9"})
        results = [await adapter.send(MESSAGE) for _ in range(3)]
    assert results[0].ok and results[0].provider_ref == "s-1"
    assert results[1].retryable and results[1].reason == "rate_limited"
    assert results[2].reason == "invalid_address" and not results[2].retryable
    sent = fake.requests[0]
    host = fake.base_url.removeprefix("http://")
    assert sent.headers["authorization"] == tc3_authorization(
        secret_id="id", secret_key="key", service="sms", host=host, payload=sent.body.decode(),
        timestamp=int(sent.headers["x-tc-timestamp"]))
    assert sent.json()["SessionContext"] == MESSAGE.delivery_id


@pytest.mark.parametrize("status,retryable,reason", [(500, True, "provider_error"), (429, True, "rate_limited"),
                                                     (400, False, "invalid_address")])
async def test_generic_sms_reads_http_statuses(status: int, retryable: bool, reason: str) -> None:
    async with serving(FakeHttp(lambda r: (status, {}))) as fake, httpx.AsyncClient() as client:
        result = await HttpSmsAdapter(client, f"{fake.base_url}/sms", token="t").send(MESSAGE)
    assert not result.ok and result.retryable is retryable and result.reason == reason
    assert fake.requests[0].headers["authorization"] == "Bearer t"


async def test_a_provider_that_does_not_answer_is_a_retryable_timeout() -> None:
    async with httpx.AsyncClient(timeout=0.5) as client:
        # a port nobody listens on: connection refused → retried, never lost
        result = await HttpSmsAdapter(client, "http://127.0.0.1:9/sms").send(MESSAGE)
    assert result.retryable


async def test_wecom_robot_rate_limit_errcode_is_retryable() -> None:
    answers = iter([(200, {"errcode": 0}), (200, {"errcode": 45009, "errmsg": "api freq out of limit"})])
    async with serving(FakeHttp(lambda r: next(answers))) as fake, httpx.AsyncClient() as client:
        adapter = WeComRobotAdapter(client)
        robot = OutgoingMessage(delivery_id="d", channel="wecom", address={"url": f"{fake.base_url}/robot"},
                                template="x", text="提醒")
        assert (await adapter.send(robot)).ok
        limited = await adapter.send(robot)
    assert limited.retryable and limited.reason == "rate_limited"
    assert fake.requests[0].json() == {"msgtype": "text", "text": {"content": "提醒"}}

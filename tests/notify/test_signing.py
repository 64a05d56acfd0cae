"""Provider signing against the providers' own published examples."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import unquote_plus

from services.notify.channels.base import OutgoingMessage
from services.notify.channels.signing import (
    aliyun_percent_encode, aliyun_signature, aliyun_string_to_sign, dingtalk_sign, tc3_authorization,
    webhook_signature,
)
from services.notify.channels.sms import AliyunSmsAdapter, TencentSmsAdapter

# Aliyun SMS documentation's signature example (SendSms, secret "testSecret").
ALIYUN_SMS_EXAMPLE = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123", "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}


def test_aliyun_sms_documentation_example() -> None:
    string_to_sign = aliyun_string_to_sign(ALIYUN_SMS_EXAMPLE)
    assert string_to_sign.startswith("GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML")
    assert "SignName%3D%25E9%2598%25BF" in string_to_sign
    assert "Timestamp%3D2017-07-12T02%253A42%253A19Z" in string_to_sign
    assert aliyun_signature(ALIYUN_SMS_EXAMPLE, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_aliyun_rpc_documentation_example() -> None:
    params = {"Format": "XML", "AccessKeyId": "testid", "Action": "DescribeRegions", "SignatureMethod": "HMAC-SHA1",
              "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
              "Version": "2014-05-26", "Timestamp": "2016-02-23T12:46:24Z"}
    assert aliyun_signature(params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_percent_encoding_rules() -> None:
    assert aliyun_percent_encode("a b") == "a%20b"
    assert aliyun_percent_encode("*") == "%2A"
    assert aliyun_percent_encode("~-_.") == "~-_."
    assert aliyun_percent_encode("/=&+") == "%2F%3D%26%2B"


def test_aliyun_adapter_signs_what_it_sends_with_the_delivery_id_as_out_id() -> None:
    adapter = AliyunSmsAdapter(None, endpoint="https://x/", access_key_id="id", access_key_secret="s",  # type: ignore[arg-type]
                               sign_name="守护", template_codes={"duty_due_soon": "SMS_1"})
    message = OutgoingMessage(delivery_id="d-1", channel="sms", address="+8613800138000", template="duty_due_soon",
                              variables={"duty": "家访"})
    params = adapter.signed_params(message, nonce="n", timestamp="2026-01-01T00:00:00Z")
    assert params["OutId"] == "d-1" and params["PhoneNumbers"] == "13800138000"
    assert params["Signature"] == aliyun_signature(params, "s", method="POST")


def test_tencent_tc3_documentation_example() -> None:
    # Tencent Cloud API 3.0 signature documentation (CVM DescribeInstances); the key is
    # published masked, and the published signature is computed with the masked key.
    authorization = tc3_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", secret_key="Gu5t9xGARNpq86cd98joQYCN3*******",
        service="cvm", host="cvm.tencentcloudapi.com", timestamp=1551113065,
        payload='{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}')
    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c")


def test_tencent_adapter_headers_and_session_context() -> None:
    adapter = TencentSmsAdapter(None, endpoint="https://sms.tencentcloudapi.com", secret_id="id",  # type: ignore[arg-type]
                                secret_key="key", sdk_app_id="1400", sign_name="守护",
                                template_ids={"duty_due_soon": "101"})
    message = OutgoingMessage(delivery_id="d-2", channel="sms", address="+8613800138000", template="duty_due_soon",
                              variables={"due_on": "2026-12-01", "duty": "家访"})
    headers, payload = adapter.request(message, timestamp=1551113065)
    assert headers["X-TC-Action"] == "SendSms" and headers["Host"] == "sms.tencentcloudapi.com"
    assert '"SessionContext":"d-2"' in payload and '"TemplateParamSet":["2026-12-01","家访"]' in payload
    assert headers["Authorization"] == tc3_authorization(secret_id="id", secret_key="key", service="sms",
                                                         host="sms.tencentcloudapi.com", payload=payload,
                                                         timestamp=1551113065)


def test_dingtalk_sign_is_hmac_sha256_of_timestamp_newline_secret() -> None:
    secret, timestamp = "SEC000", 1700000000000
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    signed = dingtalk_sign(secret, timestamp)
    assert unquote_plus(signed) == expected
    assert "+" not in signed and "/" not in signed and "=" not in signed  # URL-encoded


def test_webhook_signature_covers_timestamp_and_body() -> None:
    assert webhook_signature("k", 1, b"{}") == hmac.new(b"k", b"1.{}", hashlib.sha256).hexdigest()
    assert webhook_signature("k", 1, b"{}") != webhook_signature("k", 2, b"{}")

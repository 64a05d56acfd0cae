"""Request signing for the providers, pure functions tested against their published examples.

- Aliyun POP RPC signature v1 (SignatureMethod=HMAC-SHA1, SignatureVersion=1.0): parameters
  sorted by name, each name and value percent-encoded per RFC 3986 (space → %20, '*' → %2A,
  '~' kept), joined with '&'; StringToSign = METHOD & percentEncode('/') & percentEncode(query);
  Signature = base64(HMAC-SHA1(AccessKeySecret + '&', StringToSign)).
- Tencent Cloud API v3 (TC3-HMAC-SHA256): canonical request → string to sign →
  key derivation HMAC("TC3"+SecretKey, date) → service → "tc3_request" → signature.
- DingTalk group robot: HMAC-SHA256(secret, timestamp + "\\n" + secret), base64, URL-encoded.
- Webhooks: HMAC-SHA256 over "<timestamp>.<body>", hex, in a header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from typing import Mapping
from urllib.parse import quote, quote_plus


def aliyun_percent_encode(value: str) -> str:
    return quote(value, safe="~")  # quote leaves A-Z a-z 0-9 - _ . ~ and encodes the rest, '*' and ' ' included


def aliyun_string_to_sign(params: Mapping[str, str], method: str = "GET") -> str:
    canonical = "&".join(f"{aliyun_percent_encode(k)}={aliyun_percent_encode(str(v))}"
                         for k, v in sorted(params.items()) if k != "Signature")
    return f"{method}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"


def aliyun_signature(params: Mapping[str, str], access_key_secret: str, method: str = "GET") -> str:
    digest = hmac.new(f"{access_key_secret}&".encode(), aliyun_string_to_sign(params, method).encode(),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tc3_authorization(*, secret_id: str, secret_key: str, service: str, host: str, payload: str,
                      timestamp: int, content_type: str = "application/json; charset=utf-8") -> str:
    """The Authorization header of a TC3-HMAC-SHA256 POST to "/" with signed headers content-type;host."""
    date = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")
    canonical_headers = f"content-type:{content_type}\nhost:{host}\n"
    signed_headers = "content-type;host"
    canonical_request = "\n".join(["POST", "/", "", canonical_headers, signed_headers,
                                   _sha256_hex(payload.encode())])
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, _sha256_hex(canonical_request.encode())])
    secret_date = _hmac256(f"TC3{secret_key}".encode(), date)
    secret_service = _hmac256(secret_date, service)
    secret_signing = _hmac256(secret_service, "tc3_request")
    signature = hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, "
            f"Signature={signature}")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()

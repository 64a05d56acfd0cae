"""Token attacks against the verifier, and the OIDC key set served by a real local HTTP server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI

from shared.auth import AuthError, IdentityProviderUnavailable, TokenVerifier, require_principal
from shared.settings import AuthSettings
from tests.support.auth import COUNTY

ISSUER = "https://idp.example"


class IdentityProvider:
    """Serves a JWKS over HTTP and counts the fetches; keys can be rotated, the server stopped."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {"k1": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                provider.fetches += 1
                body = json.dumps({"keys": [
                    {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "RS256"}
                    for kid, key in provider.keys.items()]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def token(self, kid: str = "k1", **overrides: Any) -> str:
        now = int(time.time())
        claims = {"sub": "u", "roles": ["county_staff"], "jurisdiction": COUNTY, "iss": ISSUER, "aud": "shouhu",
                  "iat": now, "exp": now + 600, **overrides}
        claims = {key: value for key, value in claims.items() if value is not None}
        return jwt.encode(claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.stop()


def _settings(url: str, **extra: Any) -> AuthSettings:
    return AuthSettings(mode="oidc", oidc_jwks_url=url, issuer=ISSUER, audience="shouhu", **extra)


async def test_a_valid_token_passes(idp) -> None:
    assert (await TokenVerifier(_settings(idp.url)).verify(idp.token())).subject == "u"


@pytest.mark.parametrize("overrides", [
    {"exp": int(time.time()) - 3600},                                      # expired
    {"nbf": int(time.time()) + 3600},                                      # not yet valid
    {"iss": "https://evil.example"},                                       # wrong issuer
    {"aud": "another-app"},                                                # wrong audience
    {"iss": None}, {"aud": None}, {"exp": None}, {"iat": None},             # a required claim missing
    {"exp": int(time.time()) + 10 * 365 * 86400},                          # lives ten years
    {"iat": int(time.time()) - 13 * 3600, "exp": int(time.time()) + 60},   # issued for 13 h
    {"caregiver_id": 12345},                                               # wrong claim types
    {"jurisdiction": 330102000000}, {"jurisdiction": "33010200000x"}, {"jurisdiction": ["330102000000"]},
    {"roles": "county_staff"}, {"roles": [1]}, {"roles": {"admin": 1}}, {"permissions": "view_sensitive"},
    {"sub": 7}, {"sub": ""}, {"iat": "yesterday"}, {"exp": "tomorrow"},
])
async def test_a_forged_or_malformed_token_is_refused(idp, overrides) -> None:
    with pytest.raises(AuthError):
        await TokenVerifier(_settings(idp.url)).verify(idp.token(**overrides))


async def test_alg_none_and_key_confusion_are_refused(idp) -> None:
    verifier = TokenVerifier(_settings(idp.url))
    claims = jwt.decode(idp.token(), options={"verify_signature": False})
    public_pem = idp.keys["k1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    forged = [
        jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"}),
        # HS256 keyed with the provider's public key (which anyone can fetch).
        _hs256(claims, public_pem, kid="k1"),
        jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256",
                   headers={"kid": "k1"}),
        "not.a.token", "", "a" * 5000,
    ]
    for token in forged:
        with pytest.raises(AuthError):
            await verifier.verify(token)


def _hs256(claims: dict[str, Any], key: bytes, *, kid: str) -> str:
    import base64
    import hashlib
    import hmac

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{part(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': kid}).encode())}." \
                    f"{part(json.dumps(claims).encode())}"
    return f"{signing_input}.{part(hmac.digest(key, signing_input.encode(), hashlib.sha256))}"


async def test_dev_mode_refuses_the_same_attacks() -> None:
    settings = AuthSettings()
    key = settings.dev_signing_key.get_secret_value()
    now = int(time.time())
    base = {"sub": "u", "roles": ["county_staff"], "jurisdiction": COUNTY, "iss": settings.issuer,
            "aud": settings.audience, "iat": now, "exp": now + 600}
    for claims in ({**base, "exp": now + 10 * 365 * 86400}, {**base, "caregiver_id": 5},
                   {**base, "jurisdiction": 330102000000}):
        with pytest.raises(AuthError):
            await TokenVerifier(settings).verify(jwt.encode(claims, key, algorithm="HS256"))


async def test_unknown_kids_refetch_the_key_set_at_most_once_per_interval(idp) -> None:
    verifier = TokenVerifier(_settings(idp.url))
    await verifier.verify(idp.token())
    assert idp.fetches == 1
    forged_kid = idp.token()
    forged_kid = jwt.encode(jwt.decode(forged_kid, options={"verify_signature": False}), idp.keys["k1"],
                            algorithm="RS256", headers={"kid": "unknown"})
    results = await asyncio.gather(*(verifier.verify(forged_kid) for _ in range(20)), return_exceptions=True)
    assert all(isinstance(result, AuthError) for result in results)
    assert idp.fetches == 1  # the first fetch was moments ago: no refetch for a forged kid


async def test_a_rotated_key_is_picked_up_by_one_refetch(idp) -> None:
    verifier = TokenVerifier(_settings(idp.url, jwks_refetch_interval_seconds=0.2))
    await verifier.verify(idp.token())
    idp.keys["k2"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    deadline = time.monotonic() + 5
    while True:  # bounded: the refetch is allowed once the interval has passed
        try:
            principal = await verifier.verify(idp.token("k2"))
            break
        except AuthError:
            assert time.monotonic() < deadline, "the rotated key was never fetched"
            await asyncio.sleep(0.05)
    assert principal.subject == "u" and idp.fetches == 2


async def test_an_unreachable_identity_provider_answers_503_never_500(idp) -> None:
    idp.stop()
    settings = _settings(idp.url, jwks_timeout_seconds=2)
    with pytest.raises(IdentityProviderUnavailable):
        await TokenVerifier(settings).verify(IdentityProvider.token(idp))

    app = FastAPI()

    @app.get("/who")
    async def who(principal=Depends(require_principal)) -> dict[str, str]:  # noqa: B008
        return {"subject": principal.subject}

    app.state.token_verifier = TokenVerifier(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        answer = await client.get("/who", headers={"Authorization": f"Bearer {idp.token()}"})
    assert answer.status_code == 503 and answer.headers["retry-after"]


@pytest.mark.parametrize("garbage", [b"<html>maintenance</html>", b"[]", b'{"keys": "x"}', b'{"keys": [{"kty": 1}]}'])
async def test_a_reachable_provider_serving_garbage_is_unavailable_too(garbage) -> None:
    class Garbage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(garbage)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        provider = IdentityProvider.__new__(IdentityProvider)
        provider.keys = {"k1": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        with pytest.raises(IdentityProviderUnavailable):
            await TokenVerifier(_settings(f"http://127.0.0.1:{server.server_port}/certs")).verify(provider.token())
    finally:
        server.shutdown()
        server.server_close()


def test_oidc_without_issuer_or_audience_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="SHOUHU_AUTH_ISSUER"):
        TokenVerifier(AuthSettings(mode="oidc", oidc_jwks_url="http://x", audience="shouhu"))
    with pytest.raises(ValueError, match="SHOUHU_AUTH_AUDIENCE"):
        TokenVerifier(AuthSettings(mode="oidc", oidc_jwks_url="http://x", issuer=ISSUER))

"""Bearer tokens and jurisdiction scopes."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import AuthError, TokenVerifier, issue_dev_token, principal_from_claims, scope_prefix
from shared.settings import AuthSettings
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE



@pytest.mark.parametrize(("code", "prefix"), [
    ("330102000000", "330102"), ("330102001000", "330102001"), ("330102001002", "330102001002"),
    ("330100000000", "3301"), ("330000000000", "33"),
])
def test_scope_prefix_follows_division_levels(code, prefix) -> None:
    assert scope_prefix(code) == prefix


@pytest.mark.parametrize("bad", ["3301", "33010200000x", ""])
def test_scope_prefix_rejects_what_is_not_a_12_digit_code(bad) -> None:
    with pytest.raises(ValueError):
        scope_prefix(bad)


async def test_dev_token_round_trip_and_scope() -> None:
    settings = AuthSettings()
    token = issue_dev_token(settings, subject="u1", roles=["township_staff"], jurisdiction=TOWNSHIP)
    principal = await TokenVerifier(settings).verify(token)
    assert principal.roles == {"township_staff"}
    assert principal.covers(VILLAGE) and principal.covers(TOWNSHIP)
    assert not principal.covers("330102002001") and not principal.covers(None)


async def test_expired_wrong_audience_and_unknown_role_tokens_are_refused() -> None:
    settings = AuthSettings()
    verifier = TokenVerifier(settings)
    key = settings.dev_signing_key.get_secret_value()
    base = {"sub": "u", "roles": ["county_staff"], "jurisdiction": COUNTY, "iss": settings.issuer,
            "aud": settings.audience, "iat": int(time.time())}
    for claims in ({**base, "exp": int(time.time()) - 3600},
                   {**base, "aud": "someone-else", "exp": int(time.time()) + 60},
                   {**base, "roles": ["superuser"], "exp": int(time.time()) + 60},
                   {**base, "jurisdiction": "33", "exp": int(time.time()) + 60}):
        with pytest.raises(AuthError):
            await verifier.verify(jwt.encode(claims, key, algorithm="HS256"))


async def test_a_token_signed_with_another_key_or_alg_none_is_refused() -> None:
    settings = AuthSettings()
    claims = {"sub": "u", "roles": ["county_staff"], "jurisdiction": COUNTY, "iss": settings.issuer,
              "aud": settings.audience, "iat": int(time.time()), "exp": int(time.time()) + 60}
    with pytest.raises(AuthError):
        await TokenVerifier(settings).verify(jwt.encode(claims, "another-key-of-enough-length-000000", algorithm="HS256"))
    with pytest.raises(AuthError):
        await TokenVerifier(settings).verify(jwt.encode(claims, None, algorithm="none"))


async def test_oidc_mode_verifies_against_the_jwks_and_refuses_hs256(jwks_server) -> None:
    url, private_key = jwks_server
    settings = AuthSettings(mode="oidc", oidc_jwks_url=url, issuer="https://idp.example", audience="shouhu")
    claims = {"sub": "u", "roles": ["county_staff"], "jurisdiction": COUNTY, "iss": "https://idp.example",
              "aud": "shouhu", "iat": int(time.time()), "exp": int(time.time()) + 60}
    token = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": "k1"})
    principal = await TokenVerifier(settings).verify(token)
    assert principal.subject == "u"
    with pytest.raises(AuthError):  # an HS256 token signed with the public key must not pass
        await TokenVerifier(settings).verify(jwt.encode(claims, "x" * 40, algorithm="HS256", headers={"kid": "k1"}))


@pytest.fixture
def jwks_server():
    """A real HTTP server serving a JWKS, standing in for the county's identity provider."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    body = json.dumps({"keys": [{**public_jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json", private_key
    finally:
        server.shutdown()


async def test_the_token_cache_reuses_a_verification_but_never_past_expiry_or_for_another_token() -> None:
    from shared.auth_cache import CachingTokenVerifier

    calls = []

    class CountingVerifier(TokenVerifier):
        async def verify(self, token: str):  # type: ignore[no-untyped-def]
            calls.append(token)
            return await super().verify(token)

    settings = AuthSettings()
    cache = CachingTokenVerifier(CountingVerifier(settings), ttl_s=60)
    token = issue_dev_token(settings, subject="u1", roles=["county_staff"], jurisdiction=COUNTY)
    assert (await cache.verify(token)).subject == "u1"
    assert (await cache.verify(token)).subject == "u1"
    assert len(calls) == 1
    with pytest.raises(AuthError):  # a tampered token is not the cached one: verified, refused
        await cache.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    short = issue_dev_token(settings, subject="u2", roles=["county_staff"], jurisdiction=COUNTY, ttl_seconds=-60)
    for _ in range(2):  # already expired (beyond the leeway): refused every time, never cached
        with pytest.raises(AuthError):
            await cache.verify(short)


def test_a_school_claim_confines_school_staff_only() -> None:
    base = {"sub": "head", "jurisdiction": "330102001000"}
    head = principal_from_claims({**base, "roles": ["school_staff"], "school_id": "school-1"})
    assert head.school_scope == "school-1" and head.covers_school("school-1") and not head.covers_school("school-2")
    assert principal_from_claims({**base, "roles": ["school_staff"]}).school_scope is None
    # A broader staff role keeps its jurisdiction-wide view.
    both = principal_from_claims({**base, "roles": ["school_staff", "township_staff"], "school_id": "school-1"})
    assert both.school_scope is None and both.covers_school("school-2")
    for bad in ("", "  ", 7, "x" * 65):
        with pytest.raises(AuthError):
            principal_from_claims({**base, "roles": ["school_staff"], "school_id": bad})

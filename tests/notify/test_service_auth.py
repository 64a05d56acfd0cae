"""ServiceTokenProvider: dev tokens verify; OIDC client credentials against a real local
token endpoint, cached until shortly before expiry."""

from __future__ import annotations

import base64

import pytest

from shared.auth import AuthError, TokenVerifier
from shared.service_auth import ServiceClientSettings, ServiceTokenProvider
from shared.settings import AuthSettings
from tests.notify.fakes import FakeHttp, serving


async def test_dev_mode_signs_a_service_token_that_verifies() -> None:
    provider = ServiceTokenProvider(AuthSettings(), service_name="notify")
    token = await provider.token()
    assert token == await provider.token()  # cached
    principal = await TokenVerifier(AuthSettings()).verify(token)
    assert principal.roles == frozenset({"service"}) and principal.subject == "service:notify"


async def test_client_credentials_grant_is_cached_until_near_expiry() -> None:
    issued = []

    def token_endpoint(request):  # type: ignore[no-untyped-def]
        issued.append(request)
        return 200, {"access_token": f"tok-{len(issued)}", "token_type": "Bearer", "expires_in": 3600}

    async with serving(FakeHttp(token_endpoint)) as idp:
        client = ServiceClientSettings(client_id="notify", client_secret="s3cret", token_url=f"{idp.base_url}/token")
        provider = ServiceTokenProvider(AuthSettings(mode="oidc", oidc_jwks_url="http://unused"), client,
                                        service_name="notify")
        assert await provider.token() == "tok-1"
        assert await provider.token() == "tok-1"
        assert len(issued) == 1
        form = issued[0].body.decode()
        assert "grant_type=client_credentials" in form and "s3cret" not in form
        assert issued[0].headers["authorization"] == "Basic " + base64.b64encode(b"notify:s3cret").decode()
        provider.invalidate()
        assert await provider.token() == "tok-2"

    short = []

    def short_lived(request):  # type: ignore[no-untyped-def]
        short.append(request)
        return 200, {"access_token": f"s-{len(short)}", "token_type": "bearer", "expires_in": 30}

    async with serving(FakeHttp(short_lived)) as idp:
        client = ServiceClientSettings(client_id="n", client_secret="x", token_url=f"{idp.base_url}/token")
        provider = ServiceTokenProvider(AuthSettings(mode="oidc", oidc_jwks_url="http://unused"), client,
                                        service_name="notify")
        # expires_in 30 s is inside the 60 s refresh margin: every call renews
        assert await provider.token() == "s-1" and await provider.token() == "s-2"


async def test_token_endpoint_errors_raise_and_oidc_needs_settings() -> None:
    async with serving(FakeHttp(lambda r: (401, {"error": "invalid_client"}))) as idp:
        client = ServiceClientSettings(client_id="n", client_secret="x", token_url=f"{idp.base_url}/token")
        provider = ServiceTokenProvider(AuthSettings(mode="oidc", oidc_jwks_url="http://unused"), client,
                                        service_name="notify")
        with pytest.raises(AuthError):
            await provider.token()
    with pytest.raises(ValueError):
        ServiceTokenProvider(AuthSettings(mode="oidc", oidc_jwks_url="http://x"), ServiceClientSettings(),
                             service_name="notify")

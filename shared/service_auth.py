"""A service's own bearer token, for calling another service's API with its own credentials.

- dev auth mode: a token signed locally (`issue_dev_token`) with role `service`;
- oidc mode: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) against the identity
  provider's token URL, client authenticated with HTTP Basic (client_secret_basic), the
  token cached until shortly before it expires.

Settings: SHOUHU_AUTH_CLIENT_ID, SHOUHU_AUTH_CLIENT_SECRET (or SHOUHU_AUTH_CLIENT_SECRET_FILE),
SHOUHU_AUTH_TOKEN_URL, optional SHOUHU_AUTH_CLIENT_SCOPE.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Collection, Mapping

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth import AuthError, issue_dev_token
from shared.settings import AuthSettings, load_secret_file


class ServiceClientSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_AUTH_", extra="ignore")

    client_id: str | None = None
    client_secret: SecretStr | None = None
    client_secret_file: str | None = None
    token_url: str | None = None
    client_scope: str | None = None
    # A token is renewed this many seconds before it expires.
    refresh_margin_s: float = 60.0
    token_timeout_s: float = 10.0


class ServiceTokenProvider:
    """`await provider.token()` → a bearer token; one provider per process, reused."""

    def __init__(self, auth: AuthSettings, client: ServiceClientSettings | None = None, *,
                 service_name: str, jurisdiction: str = "000000000000", dev_ttl_s: int = 3600) -> None:
        self._auth = auth
        self._client = client or ServiceClientSettings()
        self._service_name = service_name
        self._jurisdiction = jurisdiction
        self._dev_ttl_s = dev_ttl_s
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        if auth.mode == "oidc" and not (self._client.token_url and self._client.client_id):
            raise ValueError("SHOUHU_AUTH_TOKEN_URL and SHOUHU_AUTH_CLIENT_ID are required when SHOUHU_AUTH_MODE=oidc")

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at - self._client.refresh_margin_s:
                self._token, lifetime = await self._obtain()
                self._expires_at = time.monotonic() + lifetime
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (after a 401, say): the next call obtains a new one."""
        self._token = None

    async def _obtain(self) -> tuple[str, float]:
        if self._auth.mode == "dev":
            # A service reads addresses to deliver messages: the purpose rule (shared/purpose.py)
            # wants view_sensitive for that, as the IdP's client for the service grants in OIDC mode.
            token = issue_dev_token(self._auth, subject=f"service:{self._service_name}", roles=["service"],
                                    jurisdiction=self._jurisdiction, permissions=["view_sensitive"],
                                    ttl_seconds=self._dev_ttl_s)
            return token, float(self._dev_ttl_s)
        return await self._client_credentials()

    async def _client_credentials(self) -> tuple[str, float]:
        secret = load_secret_file(self._client.client_secret_file)
        if secret is None and self._client.client_secret is not None:
            secret = self._client.client_secret.get_secret_value()
        form = {"grant_type": "client_credentials"}
        if self._client.client_scope:
            form["scope"] = self._client.client_scope
        if self._auth.audience:
            form["audience"] = self._auth.audience
        async with httpx.AsyncClient(timeout=self._client.token_timeout_s) as http:
            response = await http.post(self._client.token_url,  # type: ignore[arg-type]
                                       data=form, auth=(self._client.client_id or "", secret or ""),
                                       headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise AuthError(f"token endpoint answered {response.status_code}")
        body = response.json()
        token = body.get("access_token")
        if not token or str(body.get("token_type", "bearer")).lower() != "bearer":
            raise AuthError("token endpoint gave no bearer access_token")
        return str(token), float(body.get("expires_in") or 300)


async def call_as_service(client: httpx.AsyncClient, tokens: ServiceTokenProvider, method: str, url: str, *,
                          unavailable: Callable[[str], Exception], headers: Mapping[str, str] | None = None,
                          accept: Collection[int] = (200,), **request: Any) -> httpx.Response:
    """One call to another service's API with this service's token: one fresh try on 401 (an
    expired or rotated token); an answer outside `accept`, or none (the service or the token
    endpoint cannot be reached), raises `unavailable(reason)`, the caller's own error, whose
    reason names no person (a status or an exception's type)."""
    for attempt in (1, 2):
        try:
            token = await tokens.token()
            response = await client.request(method, url, **request,
                                            headers={"Authorization": f"Bearer {token}", **(headers or {})})
        except Exception as exc:
            raise unavailable(type(exc).__name__) from exc
        if response.status_code == 401 and attempt == 1:
            tokens.invalidate()
            continue
        if response.status_code not in accept:
            raise unavailable(f"status {response.status_code}")
        return response
    raise unavailable("unauthorised")


def json_answer(response: httpx.Response, unavailable: Callable[[str], Exception]) -> Any:
    """The answer's JSON, or `unavailable("unreadable answer")`."""
    try:
        return response.json()
    except ValueError as exc:
        raise unavailable("unreadable answer") from exc

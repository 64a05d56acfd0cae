"""Bearer-token authentication and the principal every route receives.

A principal has roles and a jurisdiction scope (a 12-digit division code: a county's
code covers its townships and villages). Production verifies tokens against the OIDC
provider's JWKS (fetched asynchronously, cached), with a fixed algorithm list, issuer,
audience and expiry. Development signs HS256 tokens with a local key; see
`python -m shared.cli token --help`. A development stack may also accept a real provider's
tokens beside its own (`SHOUHU_AUTH_DEV_IDP_ISSUER`, development mode only): an HS256 token is
then checked against the local key only, any other against the provider's keys and issuer only.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from jwt.types import Options
from fastapi import HTTPException, Request, status

from shared.request_context import set_actor
from shared.settings import AuthSettings, development_mode

ROLES = frozenset({
    "admin",           # municipal IT: operations endpoints, every jurisdiction it is scoped to
    "county_staff",    # 妇联 / 民政 / 教育局 staff of a county
    "township_staff",  # 乡镇 staff
    "school_staff",    # school heads and class teachers
    "caregiver",       # teachers, volunteers, 爱心妈妈…: their own pairings only
    "service",         # another system or service calling with its own credentials
})
PERMISSIONS = frozenset({"view_sensitive"})
_BROADER_STAFF = frozenset({"admin", "county_staff", "township_staff"})


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    jurisdiction: str  # 12-digit code; trailing zero groups widen the scope
    permissions: frozenset[str] = field(default_factory=frozenset)
    caregiver_id: str | None = None
    school_id: str | None = None  # claim `school_id`: a school_staff caller sees that school only

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def school_scope(self) -> str | None:
        """The one school a `school_staff` token with a `school_id` claim is confined to (its
        children, pairings and duties), else None. A broader staff role keeps its jurisdiction."""
        if self.school_id and "school_staff" in self.roles and not self.roles & _BROADER_STAFF:
            return self.school_id
        return None

    def covers_school(self, school_id: str | None) -> bool:
        """True unless the caller is confined to a school and this is not it."""
        return self.school_scope is None or school_id == self.school_scope

    @property
    def scope_prefix(self) -> str:
        return scope_prefix(self.jurisdiction)

    def covers(self, division_code: str | None) -> bool:
        """True when a record in `division_code` lies inside this principal's scope."""
        return division_code is not None and division_code != "" and division_code.startswith(self.scope_prefix)


# Levels of the 12-digit statistical code: province 2, city 2, county 2, township 3, village 3.
_LEVEL_ENDS = (2, 4, 6, 9, 12)


def scope_prefix(code: str) -> str:
    """'330102000000' → '330102' (the county); '330102001000' → '330102001' (a township)."""
    if len(code) != 12 or not code.isdigit():
        raise ValueError("a jurisdiction is a 12-digit division code")
    for end in reversed(_LEVEL_ENDS):
        start = _LEVEL_ENDS[_LEVEL_ENDS.index(end) - 1] if end != 2 else 0
        if code[start:end].strip("0"):
            return code[:end]
    return ""  # 000000000000: the whole country, for national administrators only


class AuthError(Exception):
    pass


class IdentityProviderUnavailable(Exception):
    """The JWKS could not be fetched: the token cannot be judged either way (503, not 401)."""


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Claims of the wrong type (a number for a string, a string for a list) are an invalid
    token, never an error deeper in: every claim is checked for its type here."""
    roles_claim = _strings(claims.get("roles") or [])
    roles = frozenset(roles_claim or ())
    if not roles or not roles <= ROLES:
        raise AuthError("token has no known role")
    jurisdiction = claims.get("jurisdiction")
    if not isinstance(jurisdiction, str):
        raise AuthError("token has no valid jurisdiction")
    try:
        scope_prefix(jurisdiction)
    except ValueError as exc:
        raise AuthError("token has no valid jurisdiction") from exc
    permissions_claim = _strings(claims.get("permissions") or [])
    if permissions_claim is None:
        raise AuthError("token has malformed permissions")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or not subject.isprintable():
        raise AuthError("token has no valid subject")
    caregiver_id = claims.get("caregiver_id")
    if caregiver_id is not None and (not isinstance(caregiver_id, str) or not caregiver_id.isprintable()
                                     or len(caregiver_id) > 64):
        raise AuthError("token has a malformed caregiver_id")
    school_id = claims.get("school_id")
    if school_id is not None and (not isinstance(school_id, str) or not school_id.strip() or not school_id.isprintable()
                                  or len(school_id) > 64):
        raise AuthError("token has no valid school_id")
    return Principal(subject=subject, roles=roles, jurisdiction=jurisdiction,
                     permissions=frozenset(permissions_claim) & PERMISSIONS, caregiver_id=caregiver_id,
                     school_id=school_id)


class TokenVerifier:
    """Verifies bearer tokens; created in an app's lifespan, one per process."""

    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings
        self._jwks: dict[str | None, Any] | None = None
        self._jwks_fetched_at = 0.0
        self._last_fetch_attempt = -float("inf")
        self._fetch_lock = asyncio.Lock()
        self.jwks_fetches = 0  # how many times the JWKS was requested (for tests and metrics)
        if settings.mode == "oidc":
            missing = [name for name, value in (("SHOUHU_AUTH_OIDC_JWKS_URL", settings.oidc_jwks_url),
                                                ("SHOUHU_AUTH_ISSUER", settings.issuer),
                                                ("SHOUHU_AUTH_AUDIENCE", settings.audience)) if not value]
            if missing:
                raise ValueError(f"{', '.join(missing)} required when SHOUHU_AUTH_MODE=oidc")
        if settings.dev_idp_issuer:
            if settings.mode != "dev" or not development_mode():
                raise ValueError("SHOUHU_AUTH_DEV_IDP_ISSUER exists only in development mode (dev auth)")
            if not settings.oidc_jwks_url:
                raise ValueError("SHOUHU_AUTH_OIDC_JWKS_URL required with SHOUHU_AUTH_DEV_IDP_ISSUER")

    async def verify(self, token: str) -> Principal:
        options: Options = {"require": ["exp", "iat", "sub", "iss", "aud"]}
        try:
            if self._settings.mode == "dev" and self._from_dev_idp(token):
                key = await self._signing_key(token)
                claims = jwt.decode(
                    token, key, algorithms=self._settings.algorithms, audience=self._settings.audience,
                    issuer=self._settings.dev_idp_issuer, leeway=self._settings.leeway_seconds, options=options)
            elif self._settings.mode == "dev":
                claims = jwt.decode(
                    token, self._settings.dev_signing_key.get_secret_value(), algorithms=["HS256"],
                    audience=self._settings.audience, issuer=self._settings.issuer,
                    leeway=self._settings.leeway_seconds, options=options)
            else:
                key = await self._signing_key(token)
                claims = jwt.decode(
                    token, key, algorithms=self._settings.algorithms, audience=self._settings.audience,
                    issuer=self._settings.issuer, leeway=self._settings.leeway_seconds, options=options)
        except jwt.PyJWTError as exc:
            raise AuthError(type(exc).__name__) from exc
        self._check_lifetime(claims)
        return principal_from_claims(claims)

    def _from_dev_idp(self, token: str) -> bool:
        """In development with a provider beside the local key: the header picks the path, and
        each path has its own fixed algorithms and keys, so neither can pass for the other."""
        return self._settings.dev_idp_issuer is not None and jwt.get_unverified_header(token).get("alg") != "HS256"

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        issued, expires = claims.get("iat"), claims.get("exp")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (issued, expires)):
            raise AuthError("token times are not numbers")
        assert issued is not None and expires is not None  # checked just above; for the type checker
        longest = self._settings.max_token_lifetime_seconds
        if expires - issued > longest or expires - time.time() > longest + self._settings.leeway_seconds:
            raise AuthError("token lives longer than allowed")

    async def _signing_key(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        if kid is not None and not isinstance(kid, str):
            raise AuthError("malformed kid")
        keys = await self._key_set(refresh=False)
        if kid not in keys and self._may_refetch():
            # An unknown kid may mean the provider rotated its keys; but a forged kid costs
            # the provider at most one fetch per interval.
            keys = await self._key_set(refresh=True)
        if kid not in keys:
            raise AuthError("unknown signing key")
        return keys[kid]

    def _may_refetch(self) -> bool:
        return time.monotonic() - self._last_fetch_attempt >= self._settings.jwks_refetch_interval_seconds

    async def _key_set(self, *, refresh: bool) -> dict[str | None, Any]:
        stale = time.monotonic() - self._jwks_fetched_at > self._settings.jwks_cache_seconds
        if self._jwks is not None and not stale and not refresh:
            return self._jwks
        attempt_before = self._last_fetch_attempt
        async with self._fetch_lock:
            if self._last_fetch_attempt != attempt_before and self._jwks is not None:
                return self._jwks  # another request fetched while this one waited
            if self._jwks is None and time.monotonic() - self._last_fetch_attempt < 1.0:
                raise IdentityProviderUnavailable("JWKS fetch failed moments ago")
            self._last_fetch_attempt = time.monotonic()
            try:
                self._jwks = await self._fetch()
                self._jwks_fetched_at = time.monotonic()
            except IdentityProviderUnavailable:
                if self._jwks is None or refresh:
                    raise
                # A stale key set still verifies the keys it holds while the provider is away.
            return self._jwks

    async def _fetch(self) -> dict[str | None, Any]:
        self.jwks_fetches += 1
        try:
            async with httpx.AsyncClient(timeout=self._settings.jwks_timeout_seconds) as client:
                response = await client.get(self._settings.oidc_jwks_url)  # type: ignore[arg-type]
                response.raise_for_status()
            key_set = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, TypeError, AttributeError, KeyError, jwt.PyJWTError) as exc:
            raise IdentityProviderUnavailable(type(exc).__name__) from exc
        return {key.key_id: key.key for key in key_set.keys}


def issue_dev_token(settings: AuthSettings, *, subject: str, roles: list[str], jurisdiction: str,
                    permissions: list[str] | None = None, caregiver_id: str | None = None,
                    school_id: str | None = None, ttl_seconds: int = 8 * 3600) -> str:
    if settings.mode != "dev" or not development_mode():
        raise AuthError("development tokens exist only in development mode (SHOUHU_ENV=development, dev auth)")
    principal_from_claims({"sub": subject, "roles": roles, "jurisdiction": jurisdiction})  # validates
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject, "roles": roles, "jurisdiction": jurisdiction, "permissions": permissions or [],
        "iss": settings.issuer, "aud": settings.audience, "iat": now, "exp": now + ttl_seconds,
    }
    if caregiver_id:
        claims["caregiver_id"] = caregiver_id
    if school_id:
        claims["school_id"] = school_id
    return jwt.encode(claims, settings.dev_signing_key.get_secret_value(), algorithm="HS256")


async def require_principal(request: Request) -> Principal:
    """FastAPI dependency: 401 unless a valid bearer token is presented."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        principal: Principal = await request.app.state.token_verifier.verify(token.strip())
        set_actor(principal.subject, principal.roles, principal.jurisdiction)  # access log, audit, history
        return principal
    except AuthError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid token: {exc}",
                            headers={"WWW-Authenticate": "Bearer"}) from exc
    except IdentityProviderUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the identity provider cannot be reached, retry later",
                            headers={"Retry-After": "5"}) from exc

"""Bearer-token authentication and the principal every route receives.

A principal has roles and a jurisdiction scope (a 12-digit division code: a county's
code covers its townships and villages). Production verifies tokens against the OIDC
provider's JWKS (fetched asynchronously, cached), with a fixed algorithm list, issuer,
audience and expiry. Development signs HS256 tokens with a local key; see
`python -m shared.cli token --help`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from fastapi import HTTPException, Request, status

from shared.settings import AuthSettings

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
        return bool(division_code) and division_code.startswith(self.scope_prefix)


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


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    roles = frozenset(claims.get("roles") or ())
    if not roles or not roles <= ROLES:
        raise AuthError("token has no known role")
    jurisdiction = str(claims.get("jurisdiction") or "")
    try:
        scope_prefix(jurisdiction)
    except ValueError as exc:
        raise AuthError("token has no valid jurisdiction") from exc
    permissions = frozenset(claims.get("permissions") or ()) & PERMISSIONS
    school_id = claims.get("school_id")
    if school_id is not None and (not isinstance(school_id, str) or not school_id.strip() or len(school_id) > 64):
        raise AuthError("token has no valid school_id")
    return Principal(subject=str(claims["sub"]), roles=roles, jurisdiction=jurisdiction,
                     permissions=permissions, caregiver_id=claims.get("caregiver_id"), school_id=school_id)


class TokenVerifier:
    """Verifies bearer tokens; created in an app's lifespan, one per process."""

    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_fetched_at = 0.0
        if settings.mode == "oidc" and not settings.oidc_jwks_url:
            raise ValueError("SHOUHU_AUTH_OIDC_JWKS_URL is required when SHOUHU_AUTH_MODE=oidc")

    async def verify(self, token: str) -> Principal:
        options = {"require": ["exp", "iat", "sub", "iss", "aud"]}
        try:
            if self._settings.mode == "dev":
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
        return principal_from_claims(claims)

    async def _signing_key(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        jwks = await self._key_set(refresh=False)
        for refresh in (False, True):
            if refresh:  # an unknown kid may mean the provider rotated its keys
                jwks = await self._key_set(refresh=True)
            for key in jwks.keys:
                if key.key_id == kid:
                    return key.key
        raise AuthError("unknown signing key")

    async def _key_set(self, *, refresh: bool) -> jwt.PyJWKSet:
        stale = time.monotonic() - self._jwks_fetched_at > self._settings.jwks_cache_seconds
        if self._jwks is None or stale or refresh:
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(self._settings.oidc_jwks_url)  # type: ignore[arg-type]
                response.raise_for_status()
            self._jwks = jwt.PyJWKSet.from_dict(response.json())
            self._jwks_fetched_at = time.monotonic()
        return self._jwks


def issue_dev_token(settings: AuthSettings, *, subject: str, roles: list[str], jurisdiction: str,
                    permissions: list[str] | None = None, caregiver_id: str | None = None,
                    school_id: str | None = None, ttl_seconds: int = 8 * 3600) -> str:
    if settings.mode != "dev":
        raise AuthError("dev tokens exist only in dev auth mode")
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
        return await request.app.state.token_verifier.verify(token.strip())
    except AuthError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid token: {exc}",
                            headers={"WWW-Authenticate": "Bearer"}) from exc

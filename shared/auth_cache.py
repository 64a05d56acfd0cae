"""A short-lived cache of verified bearer tokens.

Caregivers' phones send bursts of contacts with the same token (a day's visits synced
when they get signal back); verifying the JWT costs about as much CPU as the rest of the
request. A token verified once is trusted again, unchanged, until the earlier of its own
expiry and `ttl_s` later. The cache is keyed by the whole token string, so a changed or
forged token is always verified afresh; nothing is cached for a token that fails.
"""

from __future__ import annotations

import base64
import json
import time

from shared.auth import Principal, TokenVerifier


def _expiry(token: str) -> float | None:
    """The token's `exp` claim (already verified by the wrapped verifier), or None."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None


class CachingTokenVerifier:
    """Wraps a TokenVerifier with the same `verify(token)`; created in the app's lifespan."""

    def __init__(self, verifier: TokenVerifier, *, ttl_s: float = 60.0, max_entries: int = 10_000) -> None:
        self._verifier = verifier
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def verify(self, token: str) -> Principal:
        now = time.time()
        cached = self._cache.get(token)
        if cached is not None:
            if cached[1] > now:
                return cached[0]
            del self._cache[token]
        principal = await self._verifier.verify(token)
        expires = _expiry(token)
        if expires is not None:
            if len(self._cache) >= self._max_entries:
                self._cache.clear()  # crude but bounded; a cold cache only costs verifications
            self._cache[token] = (principal, min(expires, now + self._ttl_s))
        return principal

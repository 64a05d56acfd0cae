"""Names of places for the documents, from the registry's division register (the events
carry codes). Read with the reports service's own token (`GET /v1/divisions/{code}/names`,
public data) the first time a county is printed, then kept for the process: the register
changes only with a new edition, which a deployment brings with a restart. When the
registry cannot be reached, the documents print the codes, as before, and it is asked again
a minute later (so that no document waits for an absent registry each time)."""

from __future__ import annotations

import time
from typing import Any, Protocol

import httpx

from shared.logging import get_logger
from shared.service_auth import ServiceTokenProvider

log = get_logger("reports.place_names")

COUNTY_DIGITS = 6
RETRY_AFTER_S = 60.0


class PlaceNames(Protocol):
    async def of_county(self, code: str) -> dict[str, str]: ...


class RegistryPlaceNames:
    def __init__(self, client: httpx.AsyncClient, tokens: ServiceTokenProvider, *, registry_base_url: str) -> None:
        self._client = client
        self._tokens = tokens
        self._base = registry_base_url.rstrip("/")
        self._counties: dict[str, dict[str, str]] = {}
        self._failed_at = -RETRY_AFTER_S

    async def of_county(self, code: str) -> dict[str, str]:
        county = code[:COUNTY_DIGITS]
        if county not in self._counties:
            if time.monotonic() - self._failed_at < RETRY_AFTER_S:
                return {}  # the registry failed a moment ago: no document waits for it again
            try:
                response = await self._client.get(
                    f"{self._base}/v1/divisions/{county.ljust(12, '0')}/names",
                    headers={"Authorization": f"Bearer {await self._tokens.token()}"})
                response.raise_for_status()
                self._counties[county] = dict(response.json()["names"])
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                self._failed_at = time.monotonic()
                log.warning("reports.place_names_unavailable", error=type(exc).__name__)
                return {}
        return self._counties[county]


def with_place_names(body: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The summary's scope and townships with their names beside the codes (None: unknown)."""
    code = body["scope"]["code"]
    county = code[:COUNTY_DIGITS].ljust(12, "0")
    body["scope"]["county_name"] = names.get(county)
    body["scope"]["name"] = names.get(code)
    for township in body["by_township"]:
        township["township_name"] = names.get(township["township_code"])
    return body

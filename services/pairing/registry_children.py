"""Which child a distribution sheet's row names, asked of the registry (which alone holds
national IDs and names) with pairing's own token, in one batched call per upload:

    POST {registry}/v1/children/resolve
    {"jurisdiction": <the caller's place, narrowed to the programme's>, "items": [
        {"national_id": …} | {"name": …, "birth_date": …}, …]}
    → {"results": [{"child_id", "matches", "field", "reason"}, …]} (ids only)

The registry audits the read under pairing's identity with the request's id (forwarded as
X-Request-ID, so its audit row and pairing's access log line name the same request). The
identifiers travel only in the body: never in a URL, a log line or an event, and pairing
keeps none of them (the list keeps the child ids)."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from shared.request_context import current_request_id
from shared.service_auth import ServiceTokenProvider, call_as_service, json_answer

PER_REQUEST = 1000  # the registry takes at most 2000 items a call


class RegistryUnavailable(Exception):
    """The registry could not answer now: nothing is drafted (503, try again)."""


class ChildResolver(Protocol):
    async def resolve(self, items: list[dict[str, str]], *, jurisdiction: str) -> list[dict[str, Any]]: ...


class HttpChildResolver:
    def __init__(self, client: httpx.AsyncClient, tokens: ServiceTokenProvider, *, registry_base_url: str) -> None:
        self._client = client
        self._tokens = tokens
        self._url = registry_base_url.rstrip("/") + "/v1/children/resolve"

    async def resolve(self, items: list[dict[str, str]], *, jurisdiction: str) -> list[dict[str, Any]]:
        """One result per item, in order."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(items), PER_REQUEST):
            chunk = items[start:start + PER_REQUEST]
            answer = await self._post({"jurisdiction": jurisdiction, "items": chunk})
            got = answer.get("results")
            if not isinstance(got, list) or len(got) != len(chunk):
                raise RegistryUnavailable("unreadable answer")
            results.extend(got)
        return results

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        request_id = current_request_id()
        response = await call_as_service(self._client, self._tokens, "POST", self._url, json=body,
                                         headers={"X-Request-ID": request_id} if request_id else None,
                                         unavailable=RegistryUnavailable)
        answer = json_answer(response, RegistryUnavailable)
        if not isinstance(answer, dict):
            raise RegistryUnavailable("unreadable answer")
        return answer

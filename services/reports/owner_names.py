"""Names for a ledger, asked of the services that own them when the ledger is printed, with
the reports service's own token, and never kept (the read model has ids and codes only):

- registry: POST /v1/children/ledger-entries {"ids": [...]} → each child's 一人一档 summary
  and 联系卡 fields, the places and the school by name;
- pairing:  POST /v1/caregivers/names {"ids": [...]} → caregiver id → name;
- registry: POST /v1/schools/names {"ids": [...]} → school id → name (the school register);
- visits:   GET /v1/activity-types?county_code=… → the county's activity types by name;
- pairing:  POST /v1/aid-programmes/names {"ids": [...]} → aid programme id → name.

Both owners audit the read under the reports service's identity. The phones on the contact
card are asked in clear only with the purpose of the staff member who asked for the ledger,
and only when that person may read them in clear (shared/purpose.py): the purpose goes with
the request as `X-Purpose`; without it the registry masks them. A child or caregiver an
owner does not show is printed without a name."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

import httpx

from shared.service_auth import ServiceTokenProvider, call_as_service, json_answer

PER_REQUEST = 500  # the owners' limit of ids per request


class NamesUnavailable(Exception):
    """An owner could not answer now: no ledger is printed without its names."""


class OwnerNames(Protocol):
    async def children(self, ids: list[str], purpose: str | None) -> dict[str, dict[str, Any]]: ...

    async def caregivers(self, ids: list[str]) -> dict[str, str]: ...

    async def schools(self, ids: list[str]) -> dict[str, str]: ...

    async def activity_types(self, county_code: str) -> dict[str, str]: ...

    async def programmes(self, ids: list[str]) -> dict[str, str]: ...


class HttpOwnerNames:
    def __init__(self, client: httpx.AsyncClient, tokens: ServiceTokenProvider, *, registry_base_url: str,
                 pairing_base_url: str, visits_base_url: str | None = None) -> None:
        self._client = client
        self._tokens = tokens
        self._registry = registry_base_url.rstrip("/")
        self._pairing = pairing_base_url.rstrip("/")
        self._visits = visits_base_url.rstrip("/") if visits_base_url else None

    async def children(self, ids: list[str], purpose: str | None) -> dict[str, dict[str, Any]]:
        """child id → {name, gender, birth_date, …, guardians, parents} for those the registry shows."""
        headers = {"X-Purpose": quote(purpose)} if purpose else {}  # percent-encoded: headers are ASCII
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), PER_REQUEST):
            body = await self._post(f"{self._registry}/v1/children/ledger-entries", ids[start:start + PER_REQUEST],
                                    headers)
            found.update(body.get("children") or {})
        return found

    async def caregivers(self, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(ids), PER_REQUEST):
            body = await self._post(f"{self._pairing}/v1/caregivers/names", ids[start:start + PER_REQUEST], {})
            found.update({str(k): str(v) for k, v in (body.get("names") or {}).items()})
        return found

    async def schools(self, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(ids), PER_REQUEST):
            body = await self._post(f"{self._registry}/v1/schools/names", ids[start:start + PER_REQUEST], {})
            found.update({str(k): str(v) for k, v in (body.get("names") or {}).items()})
        return found

    async def activity_types(self, county_code: str) -> dict[str, str]:
        """code → name as the county named its types (its own and the defaults it did not rename)."""
        if self._visits is None:
            raise NamesUnavailable("no visits api configured")
        body = await self._send("GET", f"{self._visits}/v1/activity-types",
                                params={"county_code": county_code[:6].ljust(12, "0"), "limit": 500})
        return {str(t["code"]): str(t["name"]) for t in body.get("items") or () if t.get("code") and t.get("name")}

    async def programmes(self, ids: list[str]) -> dict[str, str]:
        """aid programme id → its name (pairing's 资助项目)."""
        found: dict[str, str] = {}
        for start in range(0, len(ids), PER_REQUEST):
            body = await self._post(f"{self._pairing}/v1/aid-programmes/names", ids[start:start + PER_REQUEST], {})
            found.update({str(k): str(v) for k, v in (body.get("names") or {}).items()})
        return found

    async def _post(self, url: str, ids: list[str], headers: dict[str, str]) -> dict[str, Any]:
        return await self._send("POST", url, json={"ids": ids}, headers=headers)

    async def _send(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                    **request: Any) -> dict[str, Any]:
        response = await call_as_service(self._client, self._tokens, method, url, headers=headers,
                                         unavailable=NamesUnavailable, **request)
        answer = json_answer(response, NamesUnavailable)
        if not isinstance(answer, dict):
            raise NamesUnavailable("unreadable answer")
        return answer

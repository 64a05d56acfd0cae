"""Where caregivers' and guardians' addresses come from: the services that own them, asked at
send time with notify's own credentials (role `service`). Notify never stores these addresses.

- pairing:  GET {pairing_base_url}/v1/caregivers/{caregiver_id}/contact-points
            → {"caregiver_id", "active", "channels", "phone", "email", "wecom_id", "dingtalk_id"}
- registry: GET {registry_base_url}/v1/children/{child_id}/guardian-contacts
            → {"guardians": [{"id", "relation", "phone", …}, …], "parents": [{"id", "relation",
            "phone"}, …]} (the first guardian with a phone is used; a family member's message
            goes to the entry with its id)
- registry: POST {registry_base_url}/v1/children/names {"ids": [...]}
            → {"names": {child_id: name}, "places": {child_id: {"township_name", "village_name",
            "school_name", …}}}: the children's names and where they live and study, by name,
            composed into a message's text at send (or read) time and never stored; a child
            left out has no name we may see.
- pairing:  POST {pairing_base_url}/v1/caregivers/names {"ids": [...]}
            → {"names": {caregiver_id: name}}: likewise, the caregivers' names (staff escalations).
Also read: {"contact_points": [{"channel": "sms", "address": "+8613…"}, …]}. A WeCom or DingTalk
entry is used only when it is a group-robot URL (a user id cannot be messaged through a robot).
404 or 403 means no contact points we may see: the delivery fails as `no_address`.

Addresses are sensitive (shared/purpose.py): notify's token carries `view_sensitive` and every
call states its purpose (`X-Purpose: notification delivery`), which the owner records with
notify's identity in its read audit. An answer marked `"masked": true` (the owner did not
grant the clear read) has no address we may use: it counts as none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from shared.service_auth import ServiceTokenProvider, call_as_service, json_answer


class ContactLookupFailed(Exception):
    """The owning service could not answer now (timeout, 5xx): retry later."""


@dataclass(frozen=True)
class ChildDetails:
    """What a message may say of a child: the name, and the names of the township, village
    and school (None where the registry has none)."""
    name: str
    township: str | None = None
    village: str | None = None
    school: str | None = None


class ContactSource(Protocol):
    async def caregiver(self, caregiver_id: str) -> dict[str, Any]: ...

    async def guardian(self, child_id: str) -> dict[str, Any]: ...

    async def family_member(self, child_id: str, member_id: str) -> dict[str, Any]: ...

    async def child_details(self, child_ids: list[str]) -> dict[str, ChildDetails]: ...

    async def caregiver_names(self, caregiver_ids: list[str]) -> dict[str, str]: ...


DELIVERY_PURPOSE = "notification delivery"
NAMES_PER_REQUEST = 500  # the registry's limit per request
_FLAT_FIELDS = {"phone": "sms", "mobile": "sms", "email": "email"}
_LISTS = ("contact_points", "contacts", "guardian_contacts", "guardians")


def _entries(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return [e for e in body if isinstance(e, dict)]
    if isinstance(body, dict):
        for key in _LISTS:
            if isinstance(body.get(key), list):
                return [e for e in body[key] if isinstance(e, dict)]
        return [body]
    return []


def _by_channel(body: Any) -> dict[str, Any]:
    """channel → address, the first one listed winning (the primary guardian, say)."""
    found: dict[str, Any] = {}
    for entry in _entries(body):
        if entry.get("active") is False:
            continue
        if entry.get("channel") and entry.get("address"):
            pairs = [(str(entry["channel"]), entry["address"])]
        else:
            pairs = [(channel, entry[name]) for name, channel in _FLAT_FIELDS.items() if entry.get(name)]
        for channel, address in pairs:
            if channel in found:
                continue
            if channel in ("wecom", "dingtalk", "webhook"):
                if str(address).startswith(("https://", "http://")):
                    found[channel] = {"url": str(address), "secret": entry.get("secret")}
            else:
                found[channel] = str(address)
    return found


class HttpContactSource:
    def __init__(self, client: httpx.AsyncClient, tokens: ServiceTokenProvider, *, pairing_base_url: str,
                 registry_base_url: str) -> None:
        self._client = client
        self._tokens = tokens
        self._pairing = pairing_base_url.rstrip("/")
        self._registry = registry_base_url.rstrip("/")

    async def caregiver(self, caregiver_id: str) -> dict[str, Any]:
        return await self._get(f"{self._pairing}/v1/caregivers/{caregiver_id}/contact-points")

    async def guardian(self, child_id: str) -> dict[str, Any]:
        return await self._get(f"{self._registry}/v1/children/{child_id}/guardian-contacts")

    async def family_member(self, child_id: str, member_id: str) -> dict[str, Any]:
        """One guardian's or parent's phone, by the registry's entry id ({} if the entry is
        gone or has no phone): the same answer as `guardian`, its `guardians` and `parents`."""
        body = await self._send("GET", f"{self._registry}/v1/children/{child_id}/guardian-contacts")
        entries = [*(body.get("guardians") or []), *(body.get("parents") or [])] if isinstance(body, dict) else []
        return _by_channel([e for e in entries if isinstance(e, dict) and str(e.get("id")) == member_id])

    async def child_details(self, child_ids: list[str]) -> dict[str, ChildDetails]:
        """child id → the name and the places' names for those the registry lets us see;
        ContactLookupFailed when it cannot answer now (the caller retries rather than send a
        message without the name)."""
        details: dict[str, ChildDetails] = {}
        for names, places in await self._answers(f"{self._registry}/v1/children/names", child_ids):
            for child_id, name in names.items():
                place = places.get(child_id) if isinstance(places, dict) else None
                place = place if isinstance(place, dict) else {}
                details[child_id] = ChildDetails(name, *(_text(place.get(f"{part}_name"))
                                                         for part in ("township", "village", "school")))
        return details

    async def caregiver_names(self, caregiver_ids: list[str]) -> dict[str, str]:
        """caregiver id → name for those pairing lets us see (as `child_details`)."""
        return await self._names(f"{self._pairing}/v1/caregivers/names", caregiver_ids)

    async def _names(self, url: str, ids: list[str]) -> dict[str, str]:
        return {k: v for names, _ in await self._answers(url, ids) for k, v in names.items()}

    async def _answers(self, url: str, ids: list[str]) -> list[tuple[dict[str, str], Any]]:
        """Each batch's names (only non-empty ones) and its `places`, as answered."""
        answers = []
        for start in range(0, len(ids), NAMES_PER_REQUEST):
            body = await self._send("POST", url, {"ids": ids[start:start + NAMES_PER_REQUEST]})
            if body == {}:  # 403/404: the owner shows us none of them
                continue
            found = body.get("names") if isinstance(body, dict) else None
            if not isinstance(found, dict):
                raise ContactLookupFailed("unreadable answer")
            answers.append(({str(k): str(v) for k, v in found.items() if isinstance(v, str) and v},
                            body.get("places") or {}))
        return answers

    async def _get(self, url: str) -> dict[str, Any]:
        return _by_channel(await self._send("GET", url))

    async def _send(self, method: str, url: str, body: Any = None) -> Any:
        """The answer's JSON; {} for 403/404 (nothing we may see)."""
        response = await call_as_service(self._client, self._tokens, method, url, json=body,
                                         headers={"X-Purpose": DELIVERY_PURPOSE}, accept=(200, 403, 404),
                                         unavailable=ContactLookupFailed)
        if response.status_code in (403, 404):
            return {}
        answer = json_answer(response, ContactLookupFailed)
        return {} if isinstance(answer, dict) and answer.get("masked") is True else answer


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

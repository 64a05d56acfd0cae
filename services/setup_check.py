"""`shouhu setup-check`: what a county still has to configure so that nothing vanishes.

Each service is asked through its own API, with the caller's token: notify's
`GET /v1/setup` (recipients for each rung of the overdue ladder, duty rosters, a provider
for each channel in use, and what is already waiting for them), and the registry's
statistics and expected counts (a township or school with children registered but no
expected count has no 建档率). The answer is one list of missing pieces per jurisdiction."""

from __future__ import annotations

from typing import Any

import httpx


class SetupCheckFailed(RuntimeError):
    """A service did not answer the check (status and which service; never a body)."""


async def _get(client: httpx.AsyncClient, service: str, path: str, token: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise SetupCheckFailed(f"{service} answered {response.status_code} to {path}")
    return response.json()


async def expected_counts_missing(registry: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    """Townships and schools with children registered and no expected count (no 建档率)."""
    stats = await _get(registry, "registry", "/v1/statistics", token, by=["township", "school"])
    configured = {(e["kind"], e["code"]) for e in (await _get(registry, "registry", "/v1/expected-counts",
                                                               token))["items"]}
    missing = []
    for kind in ("township", "school"):
        for entry in stats.get(kind) or []:
            if entry["key"] and (kind, entry["key"]) not in configured:
                missing.append({"what": "expected_counts", "kind": kind, "code": entry["key"],
                                "children": entry["count"],
                                "reason": f"children are registered in this {kind} but no expected count is set, "
                                          "so it has no 建档率"})
    return missing


async def check(notify: httpx.AsyncClient, registry: httpx.AsyncClient, token: str,
                jurisdiction: str | None = None) -> dict[str, Any]:
    """Notify's setup check and the registry's expected counts, in one answer."""
    setup = await _get(notify, "notify", "/v1/setup", token, **({"jurisdiction": jurisdiction} if jurisdiction else {}))
    missing = list(setup["missing"]) + await expected_counts_missing(registry, token)
    return {"jurisdiction": setup["jurisdiction"], "complete": not missing, "missing": missing,
            "undeliverable": setup["undeliverable"], "channels_configured": setup["channels_configured"],
            "channels_in_use": setup["channels_in_use"]}

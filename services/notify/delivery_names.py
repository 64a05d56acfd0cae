"""The names a delivery pass composes into its messages, asked of their owners once per pass
(the registry for children and the places they live and study in, pairing for caregivers)
and never stored. None means the owner
could not answer now: the messages that need a name are retried, never sent without it."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.notify.contacts import ChildDetails, ContactLookupFailed, ContactSource
from services.notify.domain_templates import CAREGIVER_NAME, CHILD_NAME, PLACE_VARIABLES, TEMPLATE_VARIABLES, \
    uses_variable
from shared.logging import get_logger

log = get_logger("notify.delivery")


def _naming(templates: dict[str, Any], variable: str) -> set[str]:
    """The templates of this pass whose text (in some variant) uses the variable."""
    return {key for key, variants in templates.items()
            if variable in TEMPLATE_VARIABLES.get(key, ()) and any(uses_variable(v, variable) for v in variants.values())}


async def children(contacts: ContactSource, rows: list[asyncpg.Record],
                   templates: dict) -> dict[str, ChildDetails] | None:
    """The children's names and their places' names (township, village, school)."""
    naming = set().union(*(_naming(templates, name) for name in (CHILD_NAME, *PLACE_VARIABLES)))
    wanted = sorted({str(r["child_id"]) for r in rows
                     if r["child_id"] and r["channel"] != "webhook" and r["template"] in naming})
    if not wanted:
        return {}
    try:
        return await contacts.child_details(wanted)
    except ContactLookupFailed as exc:
        log.warning("delivery.names_unavailable", children=len(wanted), error=str(exc))
        return None


async def caregivers(contacts: ContactSource, rows: list[asyncpg.Record], templates: dict) -> dict[str, str] | None:
    naming = _naming(templates, CAREGIVER_NAME)
    wanted = sorted({str((r["variables"] or {})["caregiver_id"]) for r in rows
                     if r["template"] in naming and (r["variables"] or {}).get("caregiver_id")})
    if not wanted:
        return {}
    try:
        return await contacts.caregiver_names(wanted)
    except ContactLookupFailed as exc:
        log.warning("delivery.caregiver_names_unavailable", caregivers=len(wanted), error=str(exc))
        return None

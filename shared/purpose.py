"""The one purpose rule, for every service: which fields are sensitive, and when one is shown.

A sensitive field is returned in clear only to a caller with the `view_sensitive` permission
who states why (`X-Purpose`, or `purpose` in a link); everyone else gets it masked (phones,
ID numbers, addresses) or not at all (notes, coordinates, categories: a mask would itself tell
that there is something to hide). Every clear read writes one `read_audit` row
(`shared/audit.py`): who, their roles, when, which records, which fields, the purpose and the
request's id. A service reading another's API (notify sending a message) is held to the same
rule: its token carries `view_sensitive`, it states its purpose, and the row names it.

The only clear reads without a stated purpose are the ones a relation implies, declared here
as `RELATION_PURPOSES` and audited like the others: the caregiver paired with a child reads the
family's names and phones (calling them is the pairing's work), and the author of a contact
reads back the notes they wrote.

`SENSITIVE` is what `tests/security/test_purpose_rule.py` checks every route's answers
against (from the services' OpenAPI documents), so a new route cannot leak one unnoticed.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Header, Query

from shared.auth import Principal
from shared.clean_text import CONTROL_REASON, has_control_character
from shared.rules import RuleViolation

PERMISSION = "view_sensitive"
MAX_PURPOSE = 200

# service → record kind → the fields of that record that are sensitive (dotted paths for
# nested ones). The JSON keys in `SENSITIVE_KEYS` below are these fields' last parts.
SENSITIVE: dict[str, dict[str, frozenset[str]]] = {
    "registry": {
        "child": frozenset({"national_id", "address", "sensitive_categories", "priority_reason",
                            "guardians.phone", "guardians.address", "parents.phone", "growth_notes.text"}),
    },
    "visits": {
        "contact": frozenset({"notes", "location", "follow_ups"}),
        "concern": frozenset({"category", "detail", "acknowledgement_note", "outcome", "closing_note"}),
        "concern_note": frozenset({"note"}),
        "plan": frozenset({"goals", "result_note", "notes.note"}),
    },
    "pairing": {
        "caregiver": frozenset({"phone", "email", "wecom_id", "dingtalk_id"}),
    },
    "notify": {
        "staff_recipient": frozenset({"contacts"}),
    },
    "reports": {},  # built from events, which carry nothing personal
}

# Purposes recorded for reads that a relation justifies (see the module's docstring).
RELATION_PURPOSES = {
    "paired_caregiver": "帮扶联系",  # the paired caregiver's contact with the child and family
    "author": "本人记录",  # the author reading back their own record
}


def sensitive_keys(service: str) -> frozenset[str]:
    """The JSON keys that carry a sensitive value in this service's answers."""
    return frozenset(path.rsplit(".", 1)[-1] for fields in SENSITIVE.get(service, {}).values() for path in fields)


def stated_purpose(header: str | None, query: str | None) -> str | None:
    """The purpose as stated (percent-decoded, trimmed), None when none was; a control
    character or an over-long purpose is a 422 naming the header."""
    raw = header or query
    if raw is None:
        return None
    purpose = unquote(raw).strip()
    if not purpose:
        return None
    if has_control_character(purpose):  # percent-encoding hid it from the edge check
        raise RuleViolation("header.X-Purpose", CONTROL_REASON)
    if len(purpose) > MAX_PURPOSE:
        raise RuleViolation("header.X-Purpose", f"最多{MAX_PURPOSE}个字符 / at most {MAX_PURPOSE} characters")
    return purpose


PurposeHeader = Annotated[str | None, Header(
    alias="X-Purpose", description="why sensitive fields are shown in clear (percent-encoded if not ASCII); "
                                   "needs view_sensitive; recorded in the audit trail")]
PurposeQuery = Annotated[str | None, Query(alias="purpose", description="the same as X-Purpose, for links")]


async def declared_purpose(header: PurposeHeader = None, query: PurposeQuery = None) -> str | None:
    """Dependency: the purpose the caller stated (`X-Purpose` header or `purpose` query)."""
    return stated_purpose(header, query)


StatedPurpose = Annotated[str | None, Depends(declared_purpose)]


async def declared_purpose_header(header: PurposeHeader = None) -> str | None:
    """Dependency for routes whose links never carry a purpose: the header only."""
    return stated_purpose(header, None)


StatedPurposeHeader = Annotated[str | None, Depends(declared_purpose_header)]


def clear_purpose(stated: str | None, principal: Principal) -> str | None:
    """The purpose to record when this read may show sensitive fields in clear, else None:
    only with `view_sensitive` AND a stated purpose. Whoever gets None gets masked values."""
    if stated and principal.can(PERMISSION):
        return stated
    return None

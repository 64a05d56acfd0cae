"""Sealing a record for storage and opening it for a reader.

`seal` encrypts the sensitive fields with FieldCipher, each bound to its column and row
(context "children.<column>:<id>"), and computes the national ID's blind index. `view`
turns a stored row into what a reader may see: in clear only when unmasking was asked for
with a stated purpose by someone with `view_sensitive`; otherwise ID numbers, phones and
addresses are masked, and sensitive categories and the priority reason are left out
altogether (a mask would itself tell that there is something to hide).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from services.registry import child_fields
from services.registry.card_edits import entry_ids
from services.registry.domain import NewChild
from services.registry.encrypted_columns import CHILD_CONTEXT, NATIONAL_ID_INDEX
from services.registry.identity import mask_address, mask_national_id, mask_phone
from shared.contracts import Jurisdiction
from shared.crypto import FieldCipher

ID_INDEX_PURPOSE = NATIONAL_ID_INDEX.purpose
# One encoder, made once: json.dumps with any option builds a new encoder on every call,
# which costs more than encoding a contact card (a bulk import seals 100,000 of them).
_CARD_JSON = json.JSONEncoder(ensure_ascii=False, default=str).encode
SENSITIVE_FIELDS = ("national_id", "address", "sensitive_categories", "priority_reason", "particulars",
                    "guardians.phone", "guardians.address", "parents.phone")


def context(column: str, child_id: object) -> str:
    return f"{CHILD_CONTEXT}.{column}:{child_id}"


def national_id_index(cipher: FieldCipher, national_id: str) -> str:
    return cipher.blind_index(national_id, purpose=ID_INDEX_PURPOSE)


def seal(child: NewChild, cipher: FieldCipher) -> dict[str, Any]:
    """The encrypted columns of a record (None where the field is empty)."""
    row_id = str(child.id)  # once: UUID.__str__ is Python code, and a row has up to five contexts

    def enc(column: str, value: str | None) -> str | None:
        return cipher.encrypt(value, context=context(column, row_id)) if value else None

    card = {"guardians": list(child.guardians), "parents": list(child.parents)}
    has_card = bool(child.guardians or child.parents)
    return {
        "national_id_enc": enc("national_id", child.national_id),
        "national_id_index": national_id_index(cipher, child.national_id) if child.national_id else None,
        "address_enc": enc("address", child.address),
        "sensitive_enc": enc("sensitive", json.dumps(sorted(child.sensitive_categories)))
        if child.sensitive_categories else None,
        "priority_reason_enc": enc("priority_reason", child.priority_reason),
        "contact_card_enc": enc("contact_card", _CARD_JSON(card))
        if has_card else None,
        "particulars_enc": enc("particulars", child.particulars),
    }


def _dec(cipher: FieldCipher, row: Mapping[str, Any], column: str, ctx_column: str) -> str | None:
    token = row[column]
    return cipher.decrypt(token, context=context(ctx_column, row["id"])) if token else None


def open_record(row: Mapping[str, Any], cipher: FieldCipher) -> NewChild:
    """The whole record in clear, for the domain's rules (never returned as such)."""
    card = json.loads(_dec(cipher, row, "contact_card_enc", "contact_card") or '{"guardians":[],"parents":[]}')
    sensitive = _dec(cipher, row, "sensitive_enc", "sensitive")
    return NewChild(
        id=row["id"], name=row["name"], gender=row["gender"], birth_date=row["birth_date"],
        jurisdiction=jurisdiction_of(row), school_id=row["school_id"], categories=tuple(row["categories"]),
        national_id=_dec(cipher, row, "national_id_enc", "national_id"),
        address=_dec(cipher, row, "address_enc", "address"),
        sensitive_categories=tuple(json.loads(sensitive)) if sensitive else (),
        priority_reason=_dec(cipher, row, "priority_reason_enc", "priority_reason"),
        guardians=entry_ids(row["id"], "guardians", card["guardians"]),
        parents=entry_ids(row["id"], "parents", card["parents"]),
        lawful_basis=dict(row["lawful_basis"] or {}),
        particulars=_dec(cipher, row, "particulars_enc", "particulars"),
        **{name: row[name] for name in child_fields.names()},
    )


def jurisdiction_of(row: Mapping[str, Any]) -> Jurisdiction:
    return Jurisdiction(county_code=row["county_code"], township_code=row["township_code"],
                        village_code=row["village_code"])


@dataclass(frozen=True)
class View:
    body: dict[str, Any]
    revealed: tuple[str, ...]  # the sensitive fields shown in clear (for the audit trail)


def view(row: Mapping[str, Any], cipher: FieldCipher, *, unmask: bool) -> View:
    child = open_record(row, cipher)
    revealed: list[str] = []

    def shown(name: str, value: str | None, mask: Any) -> str | None:
        if value is None:
            return None
        if unmask:
            revealed.append(name)
            return value
        return mask(value) if mask else None

    guardians = [{**g, "phone": shown("guardians.phone", g.get("phone"), mask_phone),
                  "address": shown("guardians.address", g.get("address"), mask_address)}
                 for g in child.guardians]
    parents = [{**p, "phone": shown("parents.phone", p.get("phone"), mask_phone)} for p in child.parents]
    body = {
        "id": str(child.id), "name": child.name, "gender": child.gender,
        "birth_date": child.birth_date.isoformat(),
        "national_id": shown("national_id", child.national_id, mask_national_id),
        "jurisdiction": child.jurisdiction.model_dump(), "school_id": child.school_id,
        "address": shown("address", child.address, mask_address),
        "categories": list(child.categories),
        "sensitive_categories": (list(child.sensitive_categories) if unmask else None),
        **{name: getattr(child, name) for name in child_fields.names()},
        "priority_reason": shown("priority_reason", child.priority_reason, None),
        "guardians": guardians, "parents": parents, "lawful_basis": child.lawful_basis,
        "particulars": shown("particulars", child.particulars, None),
        "status": row["status"], "close_reason": row["close_reason"], "version": row["version"],
        "masked": not unmask,
        "created_at": row["created_at"].isoformat(), "updated_at": row["updated_at"].isoformat(),
    }
    if unmask and child.sensitive_categories:
        revealed.append("sensitive_categories")
    return View(body=body, revealed=tuple(dict.fromkeys(revealed)))


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def caregiver_card(row: Mapping[str, Any], cipher: FieldCipher, *, today: date) -> View:
    """What the paired caregiver sees: enough to know the child and call the family (names
    and phones in clear, it is their job), and nothing else of the record: no national ID,
    no addresses, no sensitive categories, no priority reason, no lawful basis."""
    child = open_record(row, cipher)
    # Each entry's id: the app records a family member's consent to messages, and addresses a
    # note to them, by it (services/notify/api_family.py).
    guardians = [{"id": g.get("id"), "relation": g.get("relation"), "name": g.get("name"), "phone": g.get("phone"),
                  "entrusted": bool(g.get("entrusted"))} for g in child.guardians]
    parents = [{"id": p.get("id"), "relation": p.get("relation"), "name": p.get("name"), "phone": p.get("phone")}
               for p in child.parents]
    revealed = ["name"]
    for group, people in (("guardians", guardians), ("parents", parents)):
        for key in ("name", "phone"):
            if any(person[key] for person in people):
                revealed.append(f"{group}.{key}")
    body = {
        "id": str(child.id), "name": child.name, "gender": child.gender,
        "age": _age(child.birth_date, today),
        "school_id": child.school_id, "grade": child.grade, "class_name": child.class_name,
        "jurisdiction": child.jurisdiction.model_dump(),
        "guardians": guardians, "parents": parents, "status": row["status"],
        "pairing": {"role": row["pairing_role"], "since": row["paired_since"].isoformat()},
    }
    return View(body=body, revealed=tuple(revealed))

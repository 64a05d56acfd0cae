"""What the reports service reads of the registry to print a ledger (台账) at the moment it is
asked for: for each child of the ledger, the 一人一档 summary and the contact card (联系卡)
fields, with the places and the school by name; and the names of schools (the heading of a
school's ledger, the school of an activity). Reports keeps none of it.

Only role `service` (the reports service, with its own token) and `admin`, within their
jurisdiction; a child outside it is left out. Phones follow the purpose rule
(shared/purpose.py): in clear only with `view_sensitive` and a stated `X-Purpose` (reports
forwards the purpose of the staff member who asked, and only when that person may read them
in clear), masked otherwise. Never the national ID, addresses, sensitive categories or the
priority reason. Every read is audited: the names always, the phones when shown in clear."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from services.registry import privacy, store, store_schools
from services.registry.api_contact_points import NamesIn
from services.registry.identity import mask_phone
from shared.clean_text import CleanInput
from shared.purpose import StatedPurposeHeader, clear_purpose
from shared.routes import Caller, cipher_of
from shared.rules import Refusal
from services.registry.division_cache import divisions_of

router = APIRouter(prefix="/v1", tags=["contact points"])

READERS = ("service", "admin")
LEDGER_PURPOSE = "台账 / ledger"  # recorded for the names when no purpose is stated


class LedgerPerson(BaseModel):
    relation: str | None
    name: str | None
    phone: str | None = Field(description="masked unless read in clear with a stated purpose")
    work_place: str | None = None


class LedgerChild(BaseModel):
    name: str
    gender: str
    birth_date: str
    grade: str | None
    class_name: str | None
    status: str
    township_code: str
    township_name: str | None
    village_code: str | None
    village_name: str | None
    school_id: str | None
    school_name: str | None = Field(description="from the county's school register; null when it has none")
    guardians: list[LedgerPerson]
    parents: list[LedgerPerson]


class LedgerChildren(BaseModel):
    model_config = ConfigDict(title="LedgerChildren")

    children: dict[str, LedgerChild] = Field(description="child id → what a ledger prints of the child")
    masked: bool = Field(description="true: the phones are masked")


def _people(people: list[dict[str, Any]], clear: bool, *, work_place: bool) -> list[dict[str, Any]]:
    return [{"relation": p.get("relation"), "name": p.get("name"),
             "phone": (p.get("phone") if clear else mask_phone(p["phone"])) if p.get("phone") else None,
             "work_place": p.get("work_place") if work_place else None} for p in people]


@router.post("/children/ledger-entries", response_model=LedgerChildren)
async def ledger_entries(body: NamesIn, request: Request, principal: Caller,
                         stated: StatedPurposeHeader = None) -> dict[str, Any]:
    """The 一人一档 summary and 联系卡 fields of these children, for a ledger printed now."""
    if not principal.has_role(*READERS):
        raise Refusal(403, "forbidden", "only the reports service reads ledger entries")
    purpose = clear_purpose(stated, principal)
    cipher = cipher_of(request)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            rows = await store.children_in_scope(conn, list(dict.fromkeys(body.ids)), principal.scope_prefix)
            counties = sorted({row["county_code"] for row in rows})
            schools = {row["id"]: row["name"] for row in await store_schools.schools_of_counties(conn, counties)}
            places = divisions_of(request)
            await places.load(conn, counties)
            children: dict[str, Any] = {}
            phones_shown = False
            for row in rows:
                record = privacy.open_record(row, cipher)
                guardians = _people(record.guardians, purpose is not None, work_place=False)
                parents = _people(record.parents, purpose is not None, work_place=True)
                phones_shown |= any(p["phone"] for p in guardians + parents)
                names = places.county(row["township_code"])
                children[str(row["id"])] = {
                    "name": row["name"], "gender": row["gender"], "birth_date": row["birth_date"].isoformat(),
                    "grade": row["grade"], "class_name": row["class_name"], "status": row["status"],
                    "township_code": row["township_code"], "township_name": names.name_of(row["township_code"]),
                    "village_code": row["village_code"],
                    "village_name": names.name_of(row["village_code"]) if row["village_code"] else None,
                    "school_id": row["school_id"], "school_name": schools.get(row["school_id"]),
                    "guardians": guardians, "parents": parents}
            if rows:
                fields = ["name", "guardians.name", "parents.name"]
                if purpose and phones_shown:
                    fields += ["guardians.phone", "parents.phone"]
                await store.record_sensitive_read(
                    conn, subject=principal.subject, roles=sorted(principal.roles), action="ledger_entries",
                    record_ids=[row["id"] for row in rows], fields=fields, purpose=purpose or stated or LEDGER_PURPOSE)
    return {"children": children, "masked": purpose is None}


class SchoolNamesIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=500)


class SchoolNames(BaseModel):
    names: dict[str, str] = Field(description="school id → name in the county's school register")


@router.post("/schools/names", response_model=SchoolNames)
async def school_names(body: SchoolNamesIn, request: Request, principal: Caller) -> dict[str, Any]:
    """The register's names of these schools within the caller's jurisdiction (ids it does not
    hold are left out), for a ledger printed now. Not personal: not audited."""
    if not principal.has_role(*READERS):
        raise Refusal(403, "forbidden", "only the reports service reads school names this way")
    async with request.app.state.pool.acquire() as conn:
        names = await store_schools.school_names_in_scope(conn, list(dict.fromkeys(body.ids)), principal.scope_prefix)
    return {"names": names}

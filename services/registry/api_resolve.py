"""Which child a sheet's row is: another service (pairing, reading a school's 书包发放名单)
holds a sheet that names children by 身份证号, or by 姓名 and 出生日期, never by our ids; it
asks here, with its own credentials, in one batch, and learns ids only.

- a national ID is normalised and checked as a record's is (identity.normalize_national_id:
  length, check digit, birth date, region code in the birth year), then found by its blind
  index, whatever the record's status (the asking service decides what a closed record means);
- a name and a birth date match only open (active) records, and only when exactly one
  matches: two children of one name and birthday within the scope are ambiguous, and the
  answer says so rather than choose;
- within the caller's jurisdiction, narrowed by `jurisdiction` and `school_id` in the body
  (the person the service acts for: a township's clerk is answered for the township only).

Nothing personal goes back: per item the child id (or none), how many matched (0, 1, or 2
for "more than one") and, for a value that cannot be read, which field and why. The IDs and
names travel in the body, never in the URL, and are not logged. Every call is audited in
`read_audit` (action `resolve_children`, the ids found, the fields used, the purpose)."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.registry import privacy, store
from services.registry.identity import normalize_name, normalize_national_id, parse_date
from shared.clean_text import CleanInput
from shared.purpose import StatedPurposeHeader
from shared.routes import Caller, cipher_of
from shared.rules import Refusal, RuleViolation
from shared.scope import narrowed_prefix, require_school_filter

router = APIRouter(prefix="/v1", tags=["contact points"])

READERS = ("service", "admin")
PURPOSE = "资助名单核对 / matching an aid distribution list"  # recorded when the caller states none
MAX_ITEMS = 2000


class ResolveItem(CleanInput):
    model_config = ConfigDict(extra="forbid")

    national_id: str | None = Field(default=None, min_length=1, max_length=32, description="身份证号")
    name: str | None = Field(default=None, min_length=1, max_length=60, description="姓名, with birth_date")
    birth_date: str | None = Field(default=None, min_length=1, max_length=32,
                                   description="出生日期 as a sheet writes it: 2016-03-09, 2016/3/9, 2016年3月9日")

    @model_validator(mode="after")
    def _one_way(self) -> "ResolveItem":
        by_name = (self.name, self.birth_date) != (None, None)
        if (self.national_id is not None) == by_name or (by_name and None in (self.name, self.birth_date)):
            raise ValueError("give national_id, or name and birth_date")
        return self


class ResolveIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    jurisdiction: str | None = Field(default=None, pattern=r"^\d{12}$",
                                     description="a division within the caller's: only its children are answered")
    school_id: str | None = Field(default=None, min_length=1, max_length=64, description="only this school's children")
    items: list[ResolveItem] = Field(min_length=1, max_length=MAX_ITEMS)


class Resolved(BaseModel):
    child_id: UUID | None = Field(description="the one child this item names, else null")
    matches: int = Field(ge=0, le=2, description="0: none; 1: one; 2: more than one (ambiguous, child_id null)")
    field: Literal["national_id", "name", "birth_date"] | None = Field(
        default=None, description="the value that cannot be read (then matches is 0)")
    reason: str | None = Field(default=None, description="why, for the person who typed it (zh / en)")


class ResolveOut(BaseModel):
    model_config = ConfigDict(title="ResolvedChildren")

    results: list[Resolved] = Field(description="one per item, in the order asked")


def _read(item: ResolveItem) -> tuple[str, Any] | Resolved:
    """("national_id", number) or ("name", (name, birth date)); a Resolved naming the fault."""
    try:
        if item.national_id is not None:
            return "national_id", normalize_national_id(item.national_id)
        return "name", (normalize_name(item.name), parse_date(item.birth_date, "birth_date"))
    except RuleViolation as fault:
        field = fault.field.rsplit(".", 1)[-1]
        return Resolved(child_id=None, matches=0, field=field if field in ("national_id", "name") else "birth_date",
                        reason=fault.reason)


@router.post("/children/resolve", response_model=ResolveOut)
async def resolve_children(body: ResolveIn, request: Request, principal: Caller,
                           stated: StatedPurposeHeader = None) -> dict[str, Any]:
    """The child each item names (身份证号, or 姓名 and 出生日期), for role `service` (pairing's
    aid lists) and `admin`, within the caller's jurisdiction and the body's narrowing; ids
    only. A POST: the identifiers stay out of URLs and caches. Audited."""
    if not principal.has_role(*READERS):
        raise Refusal(403, "forbidden", "only another service resolves children this way")
    prefix = narrowed_prefix(principal, body.jurisdiction)
    require_school_filter(principal, "school_id", body.school_id, place="body")
    school = body.school_id or principal.school_scope
    read = [_read(item) for item in body.items]
    cipher = cipher_of(request)
    tuples = [r for r in read if isinstance(r, tuple)]
    index_of = {number: privacy.national_id_index(cipher, number)
                for kind, number in tuples if kind == "national_id"}
    pairs = sorted({value for kind, value in tuples if kind == "name"})
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            found_ids = await store.children_by_id_index(conn, sorted(set(index_of.values())), prefix, school)
            found_names = await store.children_by_name_and_birth(conn, pairs, prefix, school)
            results: list[Resolved] = []
            for item in read:
                if isinstance(item, Resolved):
                    results.append(item)
                    continue
                kind, value = item
                if kind == "national_id":
                    found = found_ids.get(index_of[value])
                    ids = [found] if found is not None else []
                else:
                    ids = found_names.get(value, [])
                results.append(Resolved(child_id=ids[0] if len(ids) == 1 else None, matches=min(len(ids), 2)))
            fields = (["national_id"] if index_of else []) + (["name", "birth_date"] if pairs else [])
            if fields:
                await store.record_sensitive_read(
                    conn, subject=principal.subject, roles=sorted(principal.roles), action="resolve_children",
                    record_ids=sorted({r.child_id for r in results if r.child_id is not None}, key=str),
                    fields=fields, purpose=stated or PURPOSE)
    return {"results": [r.model_dump() for r in results]}

"""A national ID that already has a record (一人一档): what the caller may learn.

Registering (or editing in) a national ID that another record holds answers 409, and what
the answer says depends on where that record lies:

- inside the caller's scope: "already registered" (the caller can find and read it anyway);
- outside it: "a record exists outside your area", and nothing more: no id, no place, no
  name, no status. The attempt is written to the audit trail (`read_audit`, action
  `registration_conflict`, the existing record's id, field `national_id`), so the auditors of
  the area that holds the record see who asked about their child, and when.

The lookup runs after the failed insert's transaction has rolled back, on a fresh connection.
"""

from __future__ import annotations

from typing import NoReturn

from fastapi import Request, status

from services.registry import store
from shared.auth import Principal
from shared.rules import RuleViolation

INSIDE = "该身份证号已建档 / a record with this national ID already exists"
OUTSIDE = "该身份证号已在您的辖区外建档 / a record with this national ID exists outside your area"
AUDIT_PURPOSE = "registration: national ID already held outside the caller's area"


class NationalIdTaken(Exception):
    """Raised inside the write transaction; answered by `answer` once it has rolled back."""

    def __init__(self, index: str) -> None:
        super().__init__("national ID already registered")
        self.index = index


async def answer(request: Request, principal: Principal, taken: NationalIdTaken) -> NoReturn:
    async with request.app.state.pool.acquire() as conn:
        existing = await store.find_by_national_id_index(conn, taken.index)
        if existing is not None and principal.covers(existing["village_code"] or existing["township_code"]):
            raise RuleViolation("body.national_id", INSIDE, status.HTTP_409_CONFLICT)
        if existing is not None:
            await store.record_sensitive_read(
                conn, subject=principal.subject, roles=sorted(principal.roles), action="registration_conflict",
                record_ids=[existing["id"]], fields=["national_id"], purpose=AUDIT_PURPOSE)
    raise RuleViolation("body.national_id", OUTSIDE, status.HTTP_409_CONFLICT)

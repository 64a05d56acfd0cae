"""A record's contact card edited one entry at a time: guardians and parents added, changed
and removed by entry id (`card_edits`). A change sends only the fields it changes; a masked
value sent back as shown keeps the stored one. Each edit is a new version of the record
(If-Match or body.version) with its ChildUpdated event."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable
from uuid import UUID, uuid4

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import Field

from services.registry import card_edits, domain
from services.registry.api import change_record
from services.registry.models import GuardianEdit, GuardianIn, ParentEdit, ParentIn
from services.registry.models_out import ChildOut
from shared.conditional import IfMatch, expected_version
from shared.rules import RuleViolation
from shared.routes import Caller, require_staff

router = APIRouter(prefix="/v1", tags=["children"])
MAX_ENTRIES = {"guardians": 5, "parents": 2}
Change = Callable[[domain.NewChild], domain.NewChild]
_Version = Field(default=None, ge=1, description="or send If-Match")


class GuardianAdd(GuardianIn):
    version: int | None = _Version


class ParentAdd(ParentIn):
    version: int | None = _Version


class GuardianChange(GuardianEdit):
    version: int | None = _Version


class ParentChange(ParentEdit):
    version: int | None = _Version


def _sent(body: GuardianEdit | ParentEdit | GuardianIn | ParentIn) -> dict[str, Any]:
    return body.model_dump(mode="json", exclude_unset=True, exclude={"version", "id"})


def _added(group: str, body: GuardianAdd | ParentAdd) -> Change:
    def change(child: domain.NewChild) -> domain.NewChild:
        entries = getattr(child, group)
        if len(entries) >= MAX_ENTRIES[group]:
            raise RuleViolation(group, f"最多{MAX_ENTRIES[group]}项 / at most {MAX_ENTRIES[group]} entries")
        entry = card_edits.new_entry(group, body.model_dump(mode="json", exclude={"version"}), "body", uuid4())
        return replace(child, **{group: (*entries, entry)})
    return change


def _changed(group: str, entry_id: UUID, body: GuardianChange | ParentChange) -> Change:
    def change(child: domain.NewChild) -> domain.NewChild:
        entries = list(getattr(child, group))
        at = card_edits.find_entry(group, tuple(entries), entry_id)
        entries[at] = card_edits.changed_entry(group, entries[at], _sent(body), "body")
        return replace(child, **{group: tuple(entries)})
    return change


def _removed(group: str, entry_id: UUID) -> Change:
    def change(child: domain.NewChild) -> domain.NewChild:
        entries = list(getattr(child, group))
        del entries[card_edits.find_entry(group, tuple(entries), entry_id)]
        return replace(child, **{group: tuple(entries)})
    return change


@router.post("/children/{child_id}/guardians", status_code=status.HTTP_201_CREATED, response_model=ChildOut)
async def add_guardian(child_id: UUID, body: GuardianAdd, request: Request, principal: Caller,
                       if_match: IfMatch = None) -> JSONResponse:
    """Adds a guardian; the answer is the record, the new entry last with its id."""
    require_staff(principal)
    answer = await change_record(request, principal, child_id, expected_version(if_match, body.version),
                                 _added("guardians", body))
    answer.status_code = status.HTTP_201_CREATED
    return answer


@router.patch("/children/{child_id}/guardians/{entry_id}", response_model=ChildOut)
async def change_guardian(child_id: UUID, entry_id: UUID, body: GuardianChange, request: Request,
                          principal: Caller, if_match: IfMatch = None) -> JSONResponse:
    """Changes the fields sent of one guardian; the others keep their values."""
    require_staff(principal)
    return await change_record(request, principal, child_id, expected_version(if_match, body.version),
                               _changed("guardians", entry_id, body))


@router.delete("/children/{child_id}/guardians/{entry_id}", response_model=ChildOut)
async def remove_guardian(child_id: UUID, entry_id: UUID, request: Request, principal: Caller,
                          if_match: IfMatch = None) -> JSONResponse:
    require_staff(principal)
    return await change_record(request, principal, child_id, expected_version(if_match),
                               _removed("guardians", entry_id))


@router.post("/children/{child_id}/parents", status_code=status.HTTP_201_CREATED, response_model=ChildOut)
async def add_parent(child_id: UUID, body: ParentAdd, request: Request, principal: Caller,
                     if_match: IfMatch = None) -> JSONResponse:
    require_staff(principal)
    answer = await change_record(request, principal, child_id, expected_version(if_match, body.version),
                                 _added("parents", body))
    answer.status_code = status.HTTP_201_CREATED
    return answer


@router.patch("/children/{child_id}/parents/{entry_id}", response_model=ChildOut)
async def change_parent(child_id: UUID, entry_id: UUID, body: ParentChange, request: Request,
                        principal: Caller, if_match: IfMatch = None) -> JSONResponse:
    require_staff(principal)
    return await change_record(request, principal, child_id, expected_version(if_match, body.version),
                               _changed("parents", entry_id, body))


@router.delete("/children/{child_id}/parents/{entry_id}", response_model=ChildOut)
async def remove_parent(child_id: UUID, entry_id: UUID, request: Request, principal: Caller,
                        if_match: IfMatch = None) -> JSONResponse:
    require_staff(principal)
    return await change_record(request, principal, child_id, expected_version(if_match),
                               _removed("parents", entry_id))

"""Use cases shared by routes and handlers: rules (domain) + SQL (store) + events (outbox),
always inside the caller's open transaction (the caller owns it; nothing here commits)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from services.pairing import domain, store, store_pairings
from shared import outbox
from shared.contracts import (
    CaregiverEnrolled, CaregiverUpdated, Jurisdiction, PairingCreated, PairingEnded, SupportRecorded,
)


def child_place(row: asyncpg.Record) -> domain.ChildPlace:
    return domain.ChildPlace(row["township_code"], row["village_code"], row["school_id"], row["status"])


def caregiver_place(row: asyncpg.Record) -> domain.CaregiverPlace:
    return domain.CaregiverPlace(row["township_code"], row["village_code"], row["school_id"], row["active"])


def jurisdiction_of(row: asyncpg.Record) -> Jurisdiction:
    return Jurisdiction(county_code=row["county_code"], township_code=row["township_code"],
                        village_code=row["village_code"])


async def capacity_of(conn: asyncpg.Connection, caregiver: asyncpg.Record) -> int:
    defaults = await store.county_capacity_defaults(conn, caregiver["county_code"])
    return domain.effective_capacity(caregiver["kind"], caregiver["capacity_override"], defaults)


async def caregiver_event(conn: asyncpg.Connection, row: asyncpg.Record, *, enrolled: bool) -> None:
    """CaregiverEnrolled/Updated: which channels exist, never the addresses."""
    event_class = CaregiverEnrolled if enrolled else CaregiverUpdated
    await outbox.add(conn, event_class(
        caregiver_id=row["id"], kind=row["kind"], jurisdiction=jurisdiction_of(row), school_id=row["school_id"],
        capacity=await capacity_of(conn, row), active=row["active"], channels=tuple(row["channels"]),
        record_version=row["version"]))


async def support_event(conn: asyncpg.Connection, record: asyncpg.Record, child: asyncpg.Record, *,
                        programme_id: UUID | None = None, programme_name: str | None = None) -> None:
    """SupportRecorded, in the record's transaction: kind, value, day and place, never the
    fund's or item's wording nor the giver (free text, kept here); the aid programme's id
    and name when it was given under one (the name is the county's title for it, not
    personal data: reports prints it in the work summary)."""
    await outbox.add(conn, SupportRecorded(
        child_id=record["child_id"], support_id=record["id"], kind=record["kind"], amount_fen=record["amount_fen"],
        given_on=record["given_on"], jurisdiction=jurisdiction_of(record), school_id=child["school_id"],
        duplicate_of=record["flagged_duplicate_of"], programme_id=programme_id,
        programme_name=programme_name))


async def create_pairing(conn: asyncpg.Connection, *, child_id: UUID, caregiver_id: UUID, role: str,
                         started_on: date, created_by: str, proposal_id: UUID | None = None) -> asyncpg.Record:
    """Checks every rule under the caregiver's row lock, inserts, emits PairingCreated.
    Raises domain.Refusal; nothing is written then."""
    caregiver = await store.get_caregiver(conn, caregiver_id, lock=True)
    if caregiver is None:
        raise domain.Refusal(404, "caregiver_not_found", "no such caregiver")
    child = await store.get_child(conn, child_id, lock=True)
    if child is None:
        raise domain.Refusal(404, "child_not_found", "no such child")
    load = await store.caregiver_load(conn, caregiver_id)
    domain.check_new_pairing(
        child=child_place(child), caregiver=caregiver_place(caregiver), load=load,
        capacity=await capacity_of(conn, caregiver), role=role,
        has_lead=await store_pairings.child_has_lead(conn, child_id),
        already_paired=await store_pairings.is_paired(conn, child_id, caregiver_id))
    pairing = await store_pairings.insert_pairing(
        conn, pairing_id=uuid.uuid4(), child_id=child_id, caregiver_id=caregiver_id, role=role,
        started_on=started_on, created_by=created_by, proposal_id=proposal_id)
    await outbox.add(conn, PairingCreated(
        child_id=child_id, pairing_id=pairing["id"], caregiver_id=caregiver_id, role=role,
        jurisdiction=jurisdiction_of(child), school_id=child["school_id"], priority=child["priority"],
        started_on=started_on))
    return pairing


async def end_pairing(conn: asyncpg.Connection, pairing: asyncpg.Record, child: asyncpg.Record, *, reason: str,
                      ended_on: date, ended_by: str) -> asyncpg.Record | None:
    ended = await store_pairings.end_pairing(conn, pairing["id"], reason=reason, ended_on=ended_on,
                                             ended_by=ended_by)
    if ended is not None:
        await outbox.add(conn, PairingEnded(
            child_id=ended["child_id"], pairing_id=ended["id"], caregiver_id=ended["caregiver_id"],
            role=ended["role"], jurisdiction=jurisdiction_of(child), ended_on=ended_on, reason=reason))
    return ended


async def reconcile_child(conn: asyncpg.Connection, child: asyncpg.Record, *, on: date) -> list[Any]:
    """After the projection changed: a child no longer active loses its pairings (closed,
    or transferred out of the county); a pairing whose caregiver no longer covers the child
    (another township, or another school for a school's caregiver) ends as child_transferred.
    The child then waits in its new township's unpaired queue."""
    ended = []
    place = child_place(child)
    for pairing in await store_pairings.active_pairings_of_child(conn, child["id"]):
        if child["status"] == "closed":
            reason = "child_closed"
        elif child["status"] != "active":
            reason = "child_transferred"
        elif not domain.still_covers(place, domain.CaregiverPlace(
                pairing["caregiver_township"], pairing["caregiver_village"], pairing["caregiver_school"])):
            reason = "child_transferred"
        else:
            continue
        row = await end_pairing(conn, pairing, child, reason=reason, ended_on=on, ended_by="registry-event")
        if row is not None:
            ended.append(row)
    return ended


async def end_caregiver_pairings(conn: asyncpg.Connection, caregiver_id: UUID, *, reason: str, on: date,
                                 by: str) -> int:
    count = 0
    for pairing in await store_pairings.active_pairings_of_caregiver(conn, caregiver_id):
        child = await store.get_child(conn, pairing["child_id"])
        if await end_pairing(conn, pairing, child, reason=reason, ended_on=on, ended_by=by) is not None:
            count += 1
    return count


def deepest_code(row: Any) -> str:
    """The narrowest division a child's or caregiver's row names: what scope checks compare."""
    return row["village_code"] or row["township_code"]

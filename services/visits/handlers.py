"""Events visits consumes: on_<event>(conn, envelope); HANDLERS maps event class → handler.

The registry's events keep the children projection (newest record_version wins, so an
older version arriving late changes nothing); pairing's events keep the pairings. Duties
are derived again whenever what they depend on changed. Redelivery is absorbed by the
inbox; the SQL is idempotent as well.
"""

from __future__ import annotations

from functools import partial
from typing import Awaitable, Callable

import asyncpg

from services.visits import scheduling, store, store_erasure
from services.visits.config import VisitsSettings
from shared import erasure
from shared.consumer import DependencyMissing
from shared.contracts import (
    CaregiverEnrolled, CaregiverUpdated, ChildClosed, ChildErased, ChildRegistered, ChildReopened, ChildTransferred, ChildUpdated,
    Envelope, Event, PairingCreated, PairingEnded,
)

Handler = Callable[[asyncpg.Connection, Envelope], Awaitable[None]]
_SCHEDULE_FACTS = ("county_code", "township_code", "village_code", "school_id", "priority", "status")


async def on_child_facts(settings: VisitsSettings, conn: asyncpg.Connection, envelope: Envelope) -> None:
    """Every registry event carries the child's full current facts."""
    before = await store.get_child_for_update(conn, envelope.data.child_id)
    if not await store.upsert_child(conn, envelope.data, envelope.time):
        return  # an older or equal version: already applied
    after = await store.get_child(conn, envelope.data.child_id)
    if before is not None and all(before[fact] == after[fact] for fact in _SCHEDULE_FACTS):
        return
    for pairing_id in await store.active_pairing_ids(conn, envelope.data.child_id):
        await scheduling.derive_pairing(conn, settings, pairing_id)


async def on_caregiver_facts(settings: VisitsSettings, conn: asyncpg.Connection, envelope: Envelope) -> None:
    """A caregiver's kind decides the rules by kind: a new kind derives their pairings again
    (the enrolment may arrive after the pairing, on another partition)."""
    event = envelope.data
    if await store.upsert_caregiver(conn, event.caregiver_id, event.kind, event.record_version):
        for pairing_id in await store.active_pairing_ids_of_caregiver(conn, event.caregiver_id):
            await scheduling.derive_pairing(conn, settings, pairing_id)


async def on_pairing_created(settings: VisitsSettings, conn: asyncpg.Connection,
                             envelope: Envelope[PairingCreated]) -> None:
    if await store.get_child(conn, envelope.data.child_id) is None:
        raise DependencyMissing("pairing for a child visits has not seen yet")
    if await store.insert_pairing(conn, envelope.data):
        await scheduling.derive_pairing(conn, settings, envelope.data.pairing_id)


async def on_pairing_ended(settings: VisitsSettings, conn: asyncpg.Connection,
                           envelope: Envelope[PairingEnded]) -> None:
    await store.end_pairing(conn, envelope.data)
    await scheduling.derive_pairing(conn, settings, envelope.data.pairing_id)


def build_handlers(settings: VisitsSettings) -> dict[type[Event], Handler]:
    child = partial(on_child_facts, settings)
    return {
        ChildRegistered: child,
        ChildUpdated: child,
        ChildTransferred: child,
        ChildClosed: child,
        ChildReopened: child,
        ChildErased: erasure.handler(store_erasure.erase_child),
        PairingCreated: partial(on_pairing_created, settings),
        PairingEnded: partial(on_pairing_ended, settings),
        CaregiverEnrolled: partial(on_caregiver_facts, settings),
        CaregiverUpdated: partial(on_caregiver_facts, settings),
    }

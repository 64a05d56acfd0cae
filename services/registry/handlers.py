"""Events the registry consumes: on_<event>(conn, envelope); HANDLERS maps event class → handler.

The registry is the source of children and consumes nothing about them. From pairing it
keeps who is paired with whom (store_pairings), which is what opens a child's card to the
caregiver: access begins with PairingCreated and ends with PairingEnded. Both handlers are
idempotent and commute, so a redelivery or a replay out of order ends in the same state.
"""

from __future__ import annotations

import asyncpg

from services.registry import store_pairings
from shared.contracts import Envelope, PairingCreated, PairingEnded


async def on_pairing_created(conn: asyncpg.Connection, envelope: Envelope[PairingCreated]) -> None:
    event = envelope.data
    await store_pairings.record_pairing_started(
        conn, pairing_id=event.pairing_id, child_id=event.child_id, caregiver_id=event.caregiver_id,
        role=event.role, started_on=event.started_on)


async def on_pairing_ended(conn: asyncpg.Connection, envelope: Envelope[PairingEnded]) -> None:
    event = envelope.data
    await store_pairings.record_pairing_ended(
        conn, pairing_id=event.pairing_id, child_id=event.child_id, caregiver_id=event.caregiver_id,
        role=event.role, ended_on=event.ended_on)


PAIRING_HANDLERS = {
    PairingCreated: on_pairing_created,
    PairingEnded: on_pairing_ended,
}
HANDLERS = {**PAIRING_HANDLERS}

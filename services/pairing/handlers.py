"""Events pairing consumes: on_<event>(conn, envelope); HANDLERS maps event class → handler.

Registry events carry the child's full current facts; only a newer record_version is
applied (store.upsert_child), and only an applied version has effects on pairings, so an
old or repeated version does nothing. The date a pairing ends is the event's own time
(China's date), so a replay a day later gives the same history.
"""

from __future__ import annotations

import asyncpg

from services.pairing import commands, store
from services.pairing.domain import LOCAL_TIME
from shared.contracts import (
    ChildClosed, ChildRegistered, ChildReopened, ChildTransferred, ChildUpdated, Envelope, VisitLogged,
)


async def _apply_child_facts(conn: asyncpg.Connection, envelope: Envelope) -> None:
    child = await store.upsert_child(conn, envelope.data)
    if child is not None:
        await commands.reconcile_child(conn, child, on=envelope.time.astimezone(LOCAL_TIME).date())


async def on_child_registered(conn: asyncpg.Connection, envelope: Envelope[ChildRegistered]) -> None:
    await _apply_child_facts(conn, envelope)


async def on_child_updated(conn: asyncpg.Connection, envelope: Envelope[ChildUpdated]) -> None:
    await _apply_child_facts(conn, envelope)


async def on_child_transferred(conn: asyncpg.Connection, envelope: Envelope[ChildTransferred]) -> None:
    """Pairings whose caregiver does not cover the new township/school end (child_transferred)."""
    await _apply_child_facts(conn, envelope)


async def on_child_closed(conn: asyncpg.Connection, envelope: Envelope[ChildClosed]) -> None:
    """Every active pairing ends (child_closed), each with its PairingEnded."""
    await _apply_child_facts(conn, envelope)


async def on_child_reopened(conn: asyncpg.Connection, envelope: Envelope[ChildReopened]) -> None:
    """Active again: back in the unpaired queue (old pairings stay ended, as history)."""
    await _apply_child_facts(conn, envelope)


async def on_visit_logged(conn: asyncpg.Connection, envelope: Envelope[VisitLogged]) -> None:
    """One row per contact, for the yearly evaluation (评比考核). Needs neither the child nor
    the caregiver to be known here: the count is about the caregiver id visits recorded."""
    event = envelope.data
    await conn.execute(
        """INSERT INTO caregiver_contacts (contact_id, caregiver_id, child_id, kind, occurred_at, township_code)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (contact_id) DO NOTHING""",
        event.contact_id, event.caregiver_id, event.child_id, event.kind, event.occurred_at,
        event.jurisdiction.township_code)


REGISTRY_HANDLERS = {
    ChildRegistered: on_child_registered,
    ChildUpdated: on_child_updated,
    ChildTransferred: on_child_transferred,
    ChildClosed: on_child_closed,
    ChildReopened: on_child_reopened,
}
VISITS_HANDLERS = {VisitLogged: on_visit_logged}
HANDLERS = {**REGISTRY_HANDLERS, **VISITS_HANDLERS}

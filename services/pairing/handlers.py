"""Events pairing consumes: on_<event>(conn, envelope); the maps below send event class → handler.

Registry events carry the child's full current facts; only a newer record_version is
applied (store.upsert_child), and only an applied version has effects on pairings, so an
old or repeated version does nothing. The date a pairing ends is the event's own time
(the county's date, on the settings' clock zone), so a replay a day later gives the same history.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Awaitable, Callable

import asyncpg

from services.pairing import commands, store, store_erasure
from shared import erasure
from shared.clock import Clock
from shared.contracts import (
    ChildClosed, ChildErased, ChildRegistered, ChildReopened, ChildTransferred, ChildUpdated, Envelope, VisitLogged,
)

Handler = Callable[[asyncpg.Connection, Envelope[Any]], Awaitable[None]]


async def _apply_child_facts(conn: asyncpg.Connection, envelope: Envelope, clock: Clock) -> None:
    child = await store.upsert_child(conn, envelope.data, envelope.time)
    if child is not None:
        # Pairings end on the county's calendar day of the change, not the UTC one.
        await commands.reconcile_child(conn, child, on=clock.local_day(envelope.time))


async def on_child_registered(conn: asyncpg.Connection, envelope: Envelope[ChildRegistered], *, clock: Clock) -> None:
    await _apply_child_facts(conn, envelope, clock)


async def on_child_updated(conn: asyncpg.Connection, envelope: Envelope[ChildUpdated], *, clock: Clock) -> None:
    await _apply_child_facts(conn, envelope, clock)


async def on_child_transferred(conn: asyncpg.Connection, envelope: Envelope[ChildTransferred], *, clock: Clock) -> None:
    """Pairings whose caregiver does not cover the new township/school end (child_transferred)."""
    await _apply_child_facts(conn, envelope, clock)


async def on_child_closed(conn: asyncpg.Connection, envelope: Envelope[ChildClosed], *, clock: Clock) -> None:
    """Every active pairing ends (child_closed), each with its PairingEnded."""
    await _apply_child_facts(conn, envelope, clock)


async def on_child_reopened(conn: asyncpg.Connection, envelope: Envelope[ChildReopened], *, clock: Clock) -> None:
    """Active again: back in the unpaired queue (old pairings stay ended, as history)."""
    await _apply_child_facts(conn, envelope, clock)


async def on_visit_logged(conn: asyncpg.Connection, envelope: Envelope[VisitLogged]) -> None:
    """One row per contact, for the yearly evaluation (评比考核). Needs neither the child nor
    the caregiver to be known here: the count is about the caregiver id visits recorded."""
    event = envelope.data
    await conn.execute(
        """INSERT INTO caregiver_contacts (contact_id, caregiver_id, child_id, kind, occurred_at, township_code)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (contact_id) DO NOTHING""",
        event.contact_id, event.caregiver_id, event.child_id, event.kind, event.occurred_at,
        event.jurisdiction.township_code)


def registry_handlers(clock: Clock) -> dict[type, Handler]:
    return {
        ChildRegistered: partial(on_child_registered, clock=clock),
        ChildUpdated: partial(on_child_updated, clock=clock),
        ChildTransferred: partial(on_child_transferred, clock=clock),
        ChildClosed: partial(on_child_closed, clock=clock),
        ChildReopened: partial(on_child_reopened, clock=clock),
        ChildErased: erasure.handler(store_erasure.erase_child),
    }


VISITS_HANDLERS: dict[type, Handler] = {VisitLogged: on_visit_logged}


def all_handlers(clock: Clock) -> dict[type, Handler]:
    return {**registry_handlers(clock), **VISITS_HANDLERS}

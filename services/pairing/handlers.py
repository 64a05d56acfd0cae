"""Events pairing consumes: on_<event>(conn, envelope); HANDLERS maps event class → handler."""

from __future__ import annotations

import asyncpg

from services.pairing import store
from shared.contracts import ChildRegistered, ChildUpdated, Envelope


async def on_child_registered(conn: asyncpg.Connection, envelope: Envelope[ChildRegistered]) -> None:
    await store.upsert_child(conn, envelope.data)


async def on_child_updated(conn: asyncpg.Connection, envelope: Envelope[ChildUpdated]) -> None:
    await store.upsert_child(conn, envelope.data)


HANDLERS = {
    ChildRegistered: on_child_registered,
    ChildUpdated: on_child_updated,
}

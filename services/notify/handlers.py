"""Events notify consumes: on_<event>(conn, envelope); HANDLERS maps event class → handler."""

from __future__ import annotations

import asyncpg

from services.notify import domain, store
from shared.consumer import DependencyMissing
from shared.contracts import ChildRegistered, ChildUpdated, Envelope, VisitLogged


async def on_child_registered(conn: asyncpg.Connection, envelope: Envelope[ChildRegistered]) -> None:
    await store.upsert_child(conn, envelope.data)


async def on_child_updated(conn: asyncpg.Connection, envelope: Envelope[ChildUpdated]) -> None:
    await store.upsert_child(conn, envelope.data)


async def on_visit_logged(conn: asyncpg.Connection, envelope: Envelope[VisitLogged]) -> None:
    # Routing needs the child's jurisdiction, which arrives on another topic: a visit can
    # overtake its child. Retry until the child is known rather than drop the notice.
    child = await store.get_child(conn, envelope.data.child_id)
    if child is None:
        raise DependencyMissing("child not yet registered here")
    for planned in domain.plan_for_visit(envelope.id, envelope.data):
        await store.insert_notification(conn, planned, child["township_code"], child["village_code"])


HANDLERS = {
    ChildRegistered: on_child_registered,
    ChildUpdated: on_child_updated,
    VisitLogged: on_visit_logged,
}

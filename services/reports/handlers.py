"""Events reports consumes, from every domain topic: on_<event>(conn, envelope); one
explicit map per topic. Each records a fact with the time it took effect: the event's own
date or time where it carries one (a pairing's started_on, a contact's occurred_at), else
the envelope's time (when the owning service committed the change)."""

from __future__ import annotations

import asyncpg

from services.reports import store
from shared.consumer import DependencyMissing
from shared.contracts import (
    CaregiverEnrolled, CaregiverUpdated, ChildClosed, ChildRegistered, ChildReopened, ChildTransferred, ChildUpdated,
    ConcernAcknowledged, ConcernEscalated, ConcernRaised, ContactOverdue, DutyCancelled, DutyDueSoon, DutyFulfilled,
    DutyScheduled, Envelope, ExpectedCountSet, PairingCreated, PairingEnded, VisitLogged,
)

# -- registry -----------------------------------------------------------------------------


async def on_child_event(conn: asyncpg.Connection, envelope: Envelope) -> None:
    """Every registry event about a child carries its full facts: one version row each."""
    await store.insert_child_version(conn, event_type=type(envelope.data).name, effective_at=envelope.time,
                                     facts=envelope.data)


async def on_expected_count_set(conn: asyncpg.Connection, envelope: Envelope[ExpectedCountSet]) -> None:
    await store.insert_expected_count(conn, effective_at=envelope.time, facts=envelope.data)


# -- pairing ------------------------------------------------------------------------------


async def on_caregiver_event(conn: asyncpg.Connection, envelope: Envelope) -> None:
    await store.insert_caregiver_version(conn, effective_at=envelope.time, facts=envelope.data)


async def on_pairing_created(conn: asyncpg.Connection, envelope: Envelope[PairingCreated]) -> None:
    await store.upsert_pairing_started(conn, recorded_at=envelope.time, facts=envelope.data)


async def on_pairing_ended(conn: asyncpg.Connection, envelope: Envelope[PairingEnded]) -> None:
    if not await store.end_pairing(conn, recorded_at=envelope.time, facts=envelope.data):
        raise DependencyMissing("pairing not known yet")


# -- visits -------------------------------------------------------------------------------


async def on_visit_logged(conn: asyncpg.Connection, envelope: Envelope[VisitLogged]) -> None:
    await store.insert_contact(conn, recorded_at=envelope.time, facts=envelope.data)


async def on_duty_scheduled(conn: asyncpg.Connection, envelope: Envelope[DutyScheduled]) -> None:
    await store.upsert_duty(conn, seen_at=envelope.time, facts=envelope.data, period_start=envelope.data.period_start)


async def on_duty_announced(conn: asyncpg.Connection, envelope: Envelope[DutyDueSoon]) -> None:
    """A due-soon notice also tells of a duty scheduled before visits published DutyScheduled."""
    await store.upsert_duty(conn, seen_at=envelope.time, facts=envelope.data)


async def on_contact_overdue(conn: asyncpg.Connection, envelope: Envelope[ContactOverdue]) -> None:
    await store.upsert_duty(conn, seen_at=envelope.time, facts=envelope.data, overdue_at=envelope.time)


async def on_duty_fulfilled(conn: asyncpg.Connection, envelope: Envelope[DutyFulfilled]) -> None:
    event = envelope.data
    await store.upsert_duty(conn, seen_at=envelope.time, facts=event, fulfilled_at=event.fulfilled_at,
                            fulfilled_by=event.contact_id)


async def on_duty_cancelled(conn: asyncpg.Connection, envelope: Envelope[DutyCancelled]) -> None:
    await store.upsert_duty(conn, seen_at=envelope.time, facts=envelope.data, cancelled_at=envelope.data.cancelled_at)


async def on_concern_raised(conn: asyncpg.Connection, envelope: Envelope[ConcernRaised]) -> None:
    await store.insert_concern(conn, facts=envelope.data)


async def on_concern_escalated(conn: asyncpg.Connection, envelope: Envelope[ConcernEscalated]) -> None:
    await store.concern_escalated(conn, envelope.data.concern_id, envelope.data.escalation_level)


async def on_concern_acknowledged(conn: asyncpg.Connection, envelope: Envelope[ConcernAcknowledged]) -> None:
    if not await store.concern_acknowledged(conn, envelope.data.concern_id, envelope.data.acknowledged_at):
        raise DependencyMissing("concern not known yet")


REGISTRY_HANDLERS = {
    ChildRegistered: on_child_event,
    ChildUpdated: on_child_event,
    ChildTransferred: on_child_event,
    ChildClosed: on_child_event,
    ChildReopened: on_child_event,
    ExpectedCountSet: on_expected_count_set,
}
PAIRING_HANDLERS = {
    CaregiverEnrolled: on_caregiver_event,
    CaregiverUpdated: on_caregiver_event,
    PairingCreated: on_pairing_created,
    PairingEnded: on_pairing_ended,
}
VISITS_HANDLERS = {
    VisitLogged: on_visit_logged,
    DutyScheduled: on_duty_scheduled,
    DutyDueSoon: on_duty_announced,
    ContactOverdue: on_contact_overdue,
    DutyFulfilled: on_duty_fulfilled,
    DutyCancelled: on_duty_cancelled,
    ConcernRaised: on_concern_raised,
    ConcernEscalated: on_concern_escalated,
    ConcernAcknowledged: on_concern_acknowledged,
}
HANDLERS = {**REGISTRY_HANDLERS, **PAIRING_HANDLERS, **VISITS_HANDLERS}

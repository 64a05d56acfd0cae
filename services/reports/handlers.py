"""Events reports consumes, from every domain topic: on_<event>(conn, envelope); one
explicit map per topic. Each records a fact with the time it took effect: the event's own
date or time where it carries one (a pairing's started_on, a contact's occurred_at), else
the envelope's time (when the owning service committed the change).

Most facts are one statement each (STATEMENTS: event → its statement), which the handlers
run and the rebuild sends in runs; the two that must find what they follow (a pairing's
end, a concern's acknowledgement) are handlers only."""

from __future__ import annotations

from typing import Any, Callable

import asyncpg

from services.reports import store, store_erasure
from shared import erasure
from services.reports.store import Statement
from shared.consumer import DependencyMissing, Handler
from shared.contracts import (
    ActivityHeld, CaregiverEnrolled, CaregiverUpdated, ChildClosed, ChildErased, ChildRegistered, ChildReopened,
    ChildTransferred, ChildUpdated, ConcernAcknowledged, ConcernEscalated, ConcernRaised, ConcernStateChanged,
    ContactOverdue, DutyCancelled, DutyDueSoon, DutyFulfilled, DutyScheduled, Envelope, Event, ExpectedCountSet,
    FamilyNoteSent, PairingCreated, PairingEnded, SupportRecorded, VisitLogged,
)

# -- one statement per event ----------------------------------------------------------------


def child_version(envelope: Envelope[Any]) -> Statement:
    """Every registry event about a child carries its full facts: one version row each."""
    return store.insert_child_version(event_type=type(envelope.data).name, effective_at=envelope.time,
                                      facts=envelope.data)


def expected_count(envelope: Envelope[ExpectedCountSet]) -> Statement:
    return store.insert_expected_count(effective_at=envelope.time, facts=envelope.data)


def caregiver_version(envelope: Envelope[Any]) -> Statement:
    return store.insert_caregiver_version(effective_at=envelope.time, facts=envelope.data)


def pairing_started(envelope: Envelope[PairingCreated]) -> Statement:
    return store.upsert_pairing_started(recorded_at=envelope.time, facts=envelope.data)


def contact(envelope: Envelope[VisitLogged]) -> Statement:
    return store.insert_contact(recorded_at=envelope.time, facts=envelope.data)


def duty_scheduled(envelope: Envelope[DutyScheduled]) -> Statement:
    return store.upsert_duty(seen_at=envelope.time, facts=envelope.data, period_start=envelope.data.period_start)


def duty_announced(envelope: Envelope[DutyDueSoon]) -> Statement:
    """A due-soon notice also tells of a duty scheduled before visits published DutyScheduled."""
    return store.upsert_duty(seen_at=envelope.time, facts=envelope.data)


def duty_overdue(envelope: Envelope[ContactOverdue]) -> Statement:
    return store.upsert_duty(seen_at=envelope.time, facts=envelope.data, overdue_at=envelope.time)


def duty_fulfilled(envelope: Envelope[DutyFulfilled]) -> Statement:
    event = envelope.data
    return store.upsert_duty(seen_at=envelope.time, facts=event, fulfilled_at=event.fulfilled_at,
                             fulfilled_by=event.contact_id)


def duty_cancelled(envelope: Envelope[DutyCancelled]) -> Statement:
    return store.upsert_duty(seen_at=envelope.time, facts=envelope.data, cancelled_at=envelope.data.cancelled_at)


def concern_raised(envelope: Envelope[ConcernRaised]) -> Statement:
    return store.insert_concern(facts=envelope.data)


def concern_escalated(envelope: Envelope[ConcernEscalated]) -> Statement:
    return store.concern_escalated(envelope.data.concern_id, envelope.data.escalation_level)


def concern_state_changed(envelope: Envelope[ConcernStateChanged]) -> Statement:
    return store.insert_concern_state(recorded_at=envelope.time, facts=envelope.data)


def activity_held(envelope: Envelope[ActivityHeld]) -> Statement:
    return store.insert_activity(recorded_at=envelope.time, facts=envelope.data)


def family_note_sent(envelope: Envelope[FamilyNoteSent]) -> Statement:
    return store.insert_family_note_sent(facts=envelope.data)


def support_given(envelope: Envelope[SupportRecorded]) -> Statement:
    return store.insert_support_given(recorded_at=envelope.time, facts=envelope.data)


STATEMENTS: dict[type[Event], Callable[[Envelope[Any]], Statement]] = {
    ChildRegistered: child_version, ChildUpdated: child_version, ChildTransferred: child_version,
    ChildClosed: child_version, ChildReopened: child_version, ExpectedCountSet: expected_count,
    CaregiverEnrolled: caregiver_version, CaregiverUpdated: caregiver_version, PairingCreated: pairing_started,
    VisitLogged: contact, DutyScheduled: duty_scheduled, DutyDueSoon: duty_announced, ContactOverdue: duty_overdue,
    DutyFulfilled: duty_fulfilled, DutyCancelled: duty_cancelled, ConcernRaised: concern_raised,
    ConcernEscalated: concern_escalated, ActivityHeld: activity_held, SupportRecorded: support_given,
    ConcernStateChanged: concern_state_changed, FamilyNoteSent: family_note_sent,
}


async def on_fact(conn: asyncpg.Connection, envelope: Envelope[Any]) -> None:
    """The handler of every event in STATEMENTS: its one statement."""
    await store.run(conn, STATEMENTS[type(envelope.data)](envelope))


# -- handlers that need what came before -------------------------------------------------------


async def on_pairing_ended(conn: asyncpg.Connection, envelope: Envelope[PairingEnded]) -> None:
    if not await store.end_pairing(conn, recorded_at=envelope.time, facts=envelope.data):
        raise DependencyMissing("pairing not known yet")


async def on_concern_acknowledged(conn: asyncpg.Connection, envelope: Envelope[ConcernAcknowledged]) -> None:
    if not await store.concern_acknowledged(conn, envelope.data.concern_id, envelope.data.acknowledged_at):
        raise DependencyMissing("concern not known yet")


REGISTRY_HANDLERS: dict[type[Event], Handler] = {
    ChildRegistered: on_fact,
    ChildUpdated: on_fact,
    ChildTransferred: on_fact,
    ChildClosed: on_fact,
    ChildReopened: on_fact,
    ExpectedCountSet: on_fact,
    ChildErased: erasure.handler(store_erasure.erase_child),
}
PAIRING_HANDLERS: dict[type[Event], Handler] = {
    CaregiverEnrolled: on_fact,
    CaregiverUpdated: on_fact,
    PairingCreated: on_fact,
    PairingEnded: on_pairing_ended,
    SupportRecorded: on_fact,
}
VISITS_HANDLERS: dict[type[Event], Handler] = {
    VisitLogged: on_fact,
    DutyScheduled: on_fact,
    DutyDueSoon: on_fact,
    ContactOverdue: on_fact,
    DutyFulfilled: on_fact,
    DutyCancelled: on_fact,
    ConcernRaised: on_fact,
    ConcernEscalated: on_fact,
    ConcernAcknowledged: on_concern_acknowledged,
    ConcernStateChanged: on_fact,
    ActivityHeld: on_fact,
}
# Notify's topic: only the notes sent to families (the work summary's 家书短信); its other
# events (every message's outcome) are skipped.
NOTIFY_HANDLERS: dict[type[Event], Handler] = {
    FamilyNoteSent: on_fact,
}
HANDLERS = {**REGISTRY_HANDLERS, **PAIRING_HANDLERS, **VISITS_HANDLERS, **NOTIFY_HANDLERS}

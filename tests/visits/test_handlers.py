"""Consumed events: the children and pairings projections, duty derivation, redelivery
(every event here is delivered twice, through the real inbox path) and out-of-order versions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.visits import store
from shared.contracts import ChildClosed, ChildReopened, ChildTransferred, PairingCreated
from tests.visits.harness import ELSEWHERE, HERE, Harness, record_of, today

# Dates come from the clock: CI runs these again with it moved a year ahead.
pytestmark = pytest.mark.clock


async def _duties(harness: Harness, pairing_id: uuid.UUID, status: str = "open") -> list:
    return await harness.fetch(
        "SELECT duty_kind, period_start, due_on, township_code FROM duties WHERE pairing_id = $1 AND status = $2"
        " ORDER BY duty_kind, period_start", pairing_id, status)


async def test_child_projection_keeps_the_newest_version_only(harness: Harness) -> None:
    child_id = await harness.child(version=3)
    await harness.update_child(child_id, 2, priority=True)  # older, arriving late: ignored
    row = (await harness.fetch("SELECT * FROM children WHERE id = $1", child_id))[0]
    assert row["record_version"] == 3 and row["priority"] is False
    await harness.update_child(child_id, 4, priority=True)
    assert (await harness.fetch("SELECT priority FROM children WHERE id = $1", child_id))[0]["priority"] is True


async def test_a_redelivered_event_is_applied_once(harness: Harness) -> None:
    child_id = await harness.child()
    event = PairingCreated(child_id=child_id, pairing_id=uuid.uuid4(), caregiver_id=uuid.uuid4(),
                           jurisdiction=HERE, started_on=today(harness.settings))
    record = record_of(event, uuid.uuid4())
    for _ in range(3):
        await harness.consumer.process(record)
    assert await harness.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'visits.test' AND event_id = $1",
                                  uuid.UUID(dict(record.headers)["ce_id"].decode())) == 1
    first = await _duties(harness, event.pairing_id)
    # The handler itself is idempotent too (a replay outside the inbox changes nothing).
    async with harness.pool.acquire() as conn, conn.transaction():
        await harness.consumer._handlers[PairingCreated](conn, type("E", (), {"data": event})())
    assert await _duties(harness, event.pairing_id) == first and first


async def test_pairing_derives_the_default_schedule(harness: Harness) -> None:
    child_id = await harness.child()
    pairing_id, _ = await harness.pair(child_id, started_on=today(harness.settings))
    kinds = {row["duty_kind"] for row in await _duties(harness, pairing_id)}
    assert kinds <= {"home_visit", "parent_call", "talk", "letter"} and {"home_visit", "parent_call", "talk"} <= kinds
    talk = [row for row in await _duties(harness, pairing_id) if row["duty_kind"] == "talk"]
    assert all((row["due_on"] - row["period_start"]).days >= 27 for row in talk)  # monthly


async def test_helpers_owe_no_duties_and_contacts_need_a_known_child(harness: Harness) -> None:
    child_id = await harness.child()
    pairing_id, _ = await harness.pair(child_id, role="helper")
    assert await _duties(harness, pairing_id) == []
    unknown = uuid.uuid4()
    await harness.pair(unknown)  # the child is not known yet: retried, then parked, never dropped
    parked = await harness.fetch("SELECT kind, reason FROM dead_letters WHERE consumer = 'visits.test'")
    assert parked and parked[-1]["kind"] == "waiting"


async def test_priority_change_derives_weekly_talks_and_back(harness: Harness) -> None:
    child_id = await harness.child()
    pairing_id, _ = await harness.pair(child_id)
    await harness.update_child(child_id, 2, priority=True)
    weekly = [r for r in await _duties(harness, pairing_id) if r["duty_kind"] == "talk"]
    assert weekly and all((r["due_on"] - r["period_start"]).days == 6 for r in weekly)
    await harness.update_child(child_id, 3, priority=False)
    monthly = [r for r in await _duties(harness, pairing_id) if r["duty_kind"] == "talk"]
    assert monthly and all((r["due_on"] - r["period_start"]).days >= 27 for r in monthly)
    cancelled = [r for r in await _duties(harness, pairing_id, "cancelled") if r["duty_kind"] == "talk"]
    # Every week owed before is cancelled, or (on a Monday that is the 1st) is the month that
    # begins with it, reopened with the month's due date.
    assert {r["period_start"] for r in weekly} <= {r["period_start"] for r in [*cancelled, *monthly]}


async def test_transfer_moves_open_duties_and_closure_cancels_them(harness: Harness) -> None:
    child_id = await harness.child()
    pairing_id, _ = await harness.pair(child_id)
    await harness.deliver(ChildTransferred(child_id=child_id, record_version=2, jurisdiction=ELSEWHERE,
                                           from_jurisdiction=HERE))
    assert {r["township_code"] for r in await _duties(harness, pairing_id)} == {ELSEWHERE.township_code}
    await harness.deliver(ChildClosed(child_id=child_id, record_version=3, jurisdiction=ELSEWHERE,
                                      status="closed", reason="parents_returned"))
    assert await _duties(harness, pairing_id) == []
    await harness.deliver(ChildReopened(child_id=child_id, record_version=4, jurisdiction=ELSEWHERE))
    assert await _duties(harness, pairing_id) != []


async def test_pairing_end_cancels_what_is_not_yet_due(harness: Harness) -> None:
    child_id = await harness.child()
    pairing_id, caregiver_id = await harness.pair(child_id)
    await harness.end_pairing(child_id, pairing_id, caregiver_id, today(harness.settings))
    assert await _duties(harness, pairing_id) == []
    async with harness.pool.acquire() as conn:
        assert not await store.paired_on(conn, child_id, caregiver_id, today(harness.settings) + timedelta(days=1))
        assert await store.paired_on(conn, child_id, caregiver_id, today(harness.settings))


async def test_an_end_that_overtakes_its_start_is_kept_and_the_start_filled_in(harness: Harness) -> None:
    child_id = await harness.child()
    pairing_id, caregiver_id = uuid.uuid4(), uuid.uuid4()
    day = today(harness.settings)
    await harness.end_pairing(child_id, pairing_id, caregiver_id, day - timedelta(days=2))
    await harness.deliver(PairingCreated(child_id=child_id, pairing_id=pairing_id, caregiver_id=caregiver_id,
                                         jurisdiction=HERE, started_on=day - timedelta(days=60)))
    async with harness.pool.acquire() as conn:
        assert await store.paired_on(conn, child_id, caregiver_id, day - timedelta(days=10))
        assert not await store.paired_on(conn, child_id, caregiver_id, day)
    assert await _duties(harness, pairing_id) == []

"""Every change of a duty's state is published in the transaction that makes it:
DutyScheduled when a duty is owed, DutyFulfilled when a contact meets it (logged now, or
found when the duty is derived after the contact), DutyCancelled when it is no longer owed."""

from __future__ import annotations

import uuid

from shared.contracts import ChildTransferred
from tests.visits.harness import ELSEWHERE, HERE, Harness, caregiver, now, today


async def _open_duty_ids(harness: Harness, pairing_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await harness.fetch("SELECT id FROM duties WHERE pairing_id = $1 AND status = 'open'", pairing_id)
    return {row["id"] for row in rows}


async def test_each_duty_owed_is_announced_once_with_its_window(harness: Harness) -> None:
    child_id = await harness.child()
    pairing_id, caregiver_id = await harness.pair(child_id)  # delivered twice: derived once
    owed = await _open_duty_ids(harness, pairing_id)
    scheduled = await harness.events("DutyScheduled", child_id=child_id)
    assert owed and sorted(event.duty_id for event in scheduled) == sorted(owed)
    assert all(event.caregiver_id == caregiver_id and event.period_start <= event.due_on for event in scheduled)


async def test_a_contact_that_meets_a_duty_publishes_duty_fulfilled(harness: Harness) -> None:
    child_id = await harness.child()
    _, caregiver_id = await harness.pair(child_id, started_on=today(harness.settings).replace(day=1))
    contact_id = uuid.uuid4()
    response = await harness.client.post("/v1/contacts", headers=caregiver(caregiver_id), json={
        "id": str(contact_id), "child_id": str(child_id), "caregiver_id": str(caregiver_id),
        "kind": "home_visit", "occurred_at": now().isoformat()})
    assert response.status_code == 201, response.text
    [met] = await harness.fetch("SELECT id FROM duties WHERE fulfilled_by = $1", contact_id)
    [event] = await harness.events("DutyFulfilled", child_id=child_id)
    assert (event.duty_id, event.contact_id, event.duty_kind) == (met["id"], contact_id, "home_visit")


async def test_ending_a_pairing_cancels_and_announces_what_is_not_yet_due(harness: Harness) -> None:
    child_id = await harness.child()
    pairing_id, caregiver_id = await harness.pair(child_id)
    owed = await _open_duty_ids(harness, pairing_id)
    await harness.end_pairing(child_id, pairing_id, caregiver_id, today(harness.settings))
    cancelled = await harness.events("DutyCancelled", child_id=child_id)
    assert sorted(event.duty_id for event in cancelled) == sorted(owed)


async def test_a_transfer_announces_the_open_duties_at_their_new_place(harness: Harness) -> None:
    child_id = await harness.child()
    pairing_id, _ = await harness.pair(child_id)
    owed = await _open_duty_ids(harness, pairing_id)
    await harness.deliver(ChildTransferred(child_id=child_id, record_version=2, jurisdiction=ELSEWHERE,
                                           from_jurisdiction=HERE))
    moved = [event for event in await harness.events("DutyScheduled", child_id=child_id)
             if event.jurisdiction == ELSEWHERE]
    assert sorted(event.duty_id for event in moved) == sorted(owed)

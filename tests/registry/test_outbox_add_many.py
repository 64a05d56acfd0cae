"""shared.outbox.add_many (added for bulk imports): the same rows as `add`, one statement."""

from __future__ import annotations

import uuid

from shared import outbox
from shared.contracts import ChildRegistered, ChildUpdated, Jurisdiction, decode, encode

J = Jurisdiction(county_code="330102000000", township_code="330102001000")


async def test_add_many_stores_what_add_stores(registry) -> None:
    events = [ChildRegistered(child_id=uuid.uuid4(), jurisdiction=J, record_version=1, categories=("migrant",)),
              ChildUpdated(child_id=uuid.uuid4(), jurisdiction=J, record_version=2, priority=True),
              ChildRegistered(child_id=uuid.uuid4(), jurisdiction=J, record_version=1,
                              school_id='a\\b\tc\nd\r"e\'f 𠮷 \\N')]  # COPY's special characters
    async with registry.pool.acquire() as conn:
        async with conn.transaction():
            ids = await outbox.add_many(conn, events)
            single = await outbox.add(conn, events[0], event_id=uuid.uuid4())
            assert await outbox.add_many(conn, []) == []
        rows = {r["event_id"]: r for r in await conn.fetch(
            "SELECT event_id, topic, message_key, event_type, headers, payload::text AS payload, status"
            " FROM outbox WHERE event_id = ANY($1)", ids + [single])}
    assert len(set(ids)) == 3
    reference = encode(events[0]).headers
    for event_id, event in zip(ids, events):
        row = rows[event_id]
        assert row["status"] == "pending" and row["topic"] == event.topic
        assert row["message_key"] == str(event.child_id) and row["event_type"] == event.cloudevent_type()
        assert set(row["headers"]) == set(reference)
        envelope = decode({k: v.encode() for k, v in row["headers"].items()}, row["message_key"].encode(),
                          row["payload"].encode())
        assert envelope.id == event_id and envelope.data == event and envelope.subject == str(event.child_id)
    assert rows[ids[0]]["payload"] == rows[single]["payload"]

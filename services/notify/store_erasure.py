"""Notify's part of a child's erasure (ChildErased: the county's retention period for the
record ended): the messages about the child, or to the child's guardians, are deleted,
sent or not (their variables and the provider's references are what notify kept of them;
a pending one would ask the registry for a contact card that is gone), and so are the
routings held for want of a recipient, and the guardians' channel preferences. Idempotent."""

from __future__ import annotations

from uuid import UUID

import asyncpg


def _count(status: str) -> int:
    return int(status.split()[-1])


async def erase_child(conn: asyncpg.Connection, child_id: UUID) -> dict[str, int]:
    return {
        "notifications": _count(await conn.execute(
            "DELETE FROM notifications WHERE child_id = $1 OR (recipient_kind = 'guardian' AND recipient_id = $2)",
            child_id, str(child_id))),
        "held_routings": _count(await conn.execute("DELETE FROM held_routings WHERE child_id = $1", child_id)),
        # the guardians' channel choices are kept under the child's id
        "recipient_preferences": _count(await conn.execute(
            "DELETE FROM recipient_preferences WHERE recipient_kind = 'guardian' AND recipient_id = $1",
            str(child_id))),
    }

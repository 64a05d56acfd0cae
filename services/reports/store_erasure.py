"""Reports' part of a child's erasure (ChildErased). Reports keeps facts without personal data
by design (ids, codes, age bands, counts: ARCHITECTURE.md, "who consumes what"), so the
statistics stay whole; only the village a child lived in, which narrows a small place to a
few children, is cleared from the child's versions. Idempotent."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def erase_child(conn: asyncpg.Connection, child_id: UUID) -> dict[str, int]:
    status = await conn.execute(
        """UPDATE child_versions SET village_code = NULL, from_village_code = NULL
            WHERE child_id = $1 AND (village_code IS NOT NULL OR from_village_code IS NOT NULL)""", child_id)
    return {"child_versions": int(status.split()[-1])}

"""Pairing's part of a child's erasure (ChildErased: the county's retention period for the
record ended). Pairing holds no name, ID or address of a child; what it wrote about the
help given in words goes (a support record's item and who gave it), what statistics and the
duplicate check count stays (kind, amount, fund, day, place codes). Idempotent."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def erase_child(conn: asyncpg.Connection, child_id: UUID) -> dict[str, int]:
    status = await conn.execute(
        """UPDATE support_records SET item = NULL, given_by_enc = NULL, village_code = NULL
            WHERE child_id = $1 AND (item IS NOT NULL OR given_by_enc IS NOT NULL OR village_code IS NOT NULL)""",
        child_id)
    return {"support_records": int(status.split()[-1])}

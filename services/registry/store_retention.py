"""SQL of the retention of children's records (services/registry/retention.py): the county's
policy, the records due, and their erasure. Functions take a connection; the caller owns
the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.registry.domain_retention import ANONYMISED_NAME, CLEARED_PLAIN, Cutoffs, Policy
from services.registry.encrypted_columns import CHILD_SEALED_FIELDS


async def get_policy(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM retention_policy")


def policy_of(row: asyncpg.Record | None) -> Policy:
    if row is None:
        return Policy()
    return Policy(row["years_after_closing"], row["years_after_adulthood"], row["action"])


async def set_policy(conn: asyncpg.Connection, policy: Policy, *, scope: str, updated_by: str, updated_at: datetime,
                     expected_version: int | None) -> asyncpg.Record | None:
    """Writes the policy; None when `expected_version` is not the stored one (the first
    policy is written with no version expected)."""
    return await conn.fetchrow(
        """INSERT INTO retention_policy AS p (years_after_closing, years_after_adulthood, action, scope,
                                              updated_by, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE
              SET years_after_closing = EXCLUDED.years_after_closing,
                  years_after_adulthood = EXCLUDED.years_after_adulthood, action = EXCLUDED.action,
                  scope = EXCLUDED.scope, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at,
                  version = p.version + 1
            WHERE p.version = $7
           RETURNING *""",
        policy.years_after_closing, policy.years_after_adulthood, policy.action, scope, updated_by, updated_at,
        expected_version)


_DUE = """erased_at IS NULL
          AND (($1::timestamptz IS NOT NULL AND status = 'closed' AND status_changed_at < $1)
               OR ($2::date IS NOT NULL AND birth_date <= $2))"""


async def due_children(conn: asyncpg.Connection, due: Cutoffs, limit: int) -> list[asyncpg.Record]:
    """The next records whose retention ended, locked (another replica's job skips them)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT id, status, status_changed_at, birth_date
              FROM children WHERE {_DUE} ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED""",
        due.closed_before, due.born_on_or_before, limit)
    return rows


async def count_due(conn: asyncpg.Connection, due: Cutoffs) -> dict[str, int]:
    """How many records are due, by why (the dry run)."""
    row = await conn.fetchrow(
        f"""SELECT count(*) FILTER (WHERE $1::timestamptz IS NOT NULL AND status = 'closed'
                                      AND status_changed_at < $1) AS closed,
                   count(*) AS due
              FROM children WHERE {_DUE}""",
        due.closed_before, due.born_on_or_before)
    return {"closed": row["closed"], "adulthood": row["due"] - row["closed"], "due": row["due"]}


async def close_aged_out(conn: asyncpg.Connection, child_id: UUID, now: datetime) -> asyncpg.Record:
    """Closes a record that is due by age and still open (reason aged_out); the record as written."""
    row: asyncpg.Record = await conn.fetchrow(
        """UPDATE children SET status = 'closed', close_reason = 'aged_out', status_changed_at = $2, updated_at = $2,
                               version = version + 1
            WHERE id = $1 RETURNING *""", child_id, now)
    return row


async def get_child(conn: asyncpg.Connection, child_id: UUID) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow("SELECT * FROM children WHERE id = $1", child_id)
    return row


async def write_tombstone(conn: asyncpg.Connection, child: asyncpg.Record, *, basis: str, action: str,
                          erased_at: datetime) -> None:
    await conn.execute(
        """INSERT INTO child_tombstones (child_id, county_code, township_code, school_id, gender, birth_year,
                                         categories, left_behind_type, status, close_reason, status_changed_at,
                                         registered_at, basis, action, erased_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (child_id) DO NOTHING""",
        child["id"], child["county_code"], child["township_code"], child["school_id"], child["gender"],
        child["birth_date"].year, child["categories"], child["left_behind_type"], child["status"],
        child["close_reason"], child["status_changed_at"], child["created_at"], basis, action, erased_at)


def _count(status: str) -> int:
    return int(status.split()[-1])


async def _delete_dependents(conn: asyncpg.Connection, child_id: UUID) -> dict[str, int]:
    return {
        "growth_notes": _count(await conn.execute("DELETE FROM growth_notes WHERE child_id = $1", child_id)),
        "import_changes": _count(await conn.execute("DELETE FROM import_changes WHERE child_id = $1", child_id)),
    }


_SEALED = ", ".join(f"{field}_enc = NULL" for field in CHILD_SEALED_FIELDS)
_PLAIN = ", ".join(f"{column} = NULL" for column in CLEARED_PLAIN)


async def anonymise_child(conn: asyncpg.Connection, child_id: UUID, erased_at: datetime) -> dict[str, Any]:
    counts = await _delete_dependents(conn, child_id)
    counts["children"] = _count(await conn.execute(
        f"""UPDATE children SET name = $3, search_text = '', national_id_index = NULL, {_SEALED}, {_PLAIN},
                                birth_date = date_trunc('year', birth_date)::date, erased_at = $2,
                                updated_at = $2, version = version + 1
             WHERE id = $1 AND erased_at IS NULL""",
        child_id, erased_at, ANONYMISED_NAME))
    # The statistics' history keeps the same generalised facts as the record now.
    counts["child_history"] = _count(await conn.execute(
        """UPDATE child_history SET birth_date = date_trunc('year', birth_date)::date, village_code = NULL
            WHERE child_id = $1""", child_id))
    return counts


async def purge_child(conn: asyncpg.Connection, child_id: UUID) -> dict[str, Any]:
    counts = await _delete_dependents(conn, child_id)
    for table in ("child_history", "caregiver_pairings", "children"):
        column = "id" if table == "children" else "child_id"
        counts[table] = _count(await conn.execute(f"DELETE FROM {table} WHERE {column} = $1", child_id))
    return counts

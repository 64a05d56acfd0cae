"""SQL for support records (帮扶: financial aid and gifts in kind)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping
from uuid import UUID

import asyncpg

from services.pairing.store import in_scope
from shared.pagination import keyset_after

SUPPORT_COLUMNS = """s.id, s.child_id, s.county_code, s.township_code, s.village_code, s.kind, s.amount_fen, s.item, s.fund,
    s.given_on, s.period_key, s.given_by_enc, s.flagged_duplicate_of, s.created_at"""


async def earlier_gift_in_period(conn: asyncpg.Connection, child_id: UUID, fund: str,
                                 period_key: str) -> UUID | None:
    """The first gift to this child from this fund in this period, if any. Serialised per
    (child, fund) so two records entered at once cannot both look like the first."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1::uuid::text), hashtext($2))", child_id, fund)
    return await conn.fetchval(
        """SELECT id FROM support_records WHERE child_id = $1 AND fund = $2 AND period_key = $3
            ORDER BY given_on, created_at LIMIT 1""",
        child_id, fund, period_key)


async def insert_support(conn: asyncpg.Connection, values: Mapping[str, Any]) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO support_records AS s (id, child_id, county_code, township_code, village_code, kind, amount_fen,
                                              item, fund, given_on, period_key, given_by_enc, flagged_duplicate_of,
                                              created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING {SUPPORT_COLUMNS}""",
        values["id"], values["child_id"], values["county_code"], values["township_code"], values["village_code"], values["kind"],
        values["amount_fen"], values["item"], values["fund"], values["given_on"], values["period_key"],
        values["given_by_enc"], values["flagged_duplicate_of"], values["created_by"])


async def support_of_child(conn: asyncpg.Connection, child_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {SUPPORT_COLUMNS} FROM support_records s WHERE s.child_id = $1 ORDER BY s.given_on, s.created_at",
        child_id)


# Flagged gifts, newest first; their cursors hold these values.
FLAGGED_ORDER = (("s.given_on", "desc"), ("s.created_at", "desc"), ("s.id", "asc"))


async def flagged_support(conn: asyncpg.Connection, scope_prefix: str, since: date | None,
                          until: date | None, *, limit: int,
                          after: tuple[date, datetime, UUID] | None = None) -> list[asyncpg.Record]:
    after_clause = keyset_after(FLAGGED_ORDER, ["$5", "$6", "$7"]) if after else "$5::date IS NULL"
    return await conn.fetch(
        f"""SELECT {SUPPORT_COLUMNS} FROM support_records s
             WHERE s.flagged_duplicate_of IS NOT NULL AND {in_scope('s', '$1')}
               AND ($2::date IS NULL OR s.given_on >= $2) AND ($3::date IS NULL OR s.given_on < $3)
               AND {after_clause}
             ORDER BY s.given_on DESC, s.created_at DESC, s.id LIMIT $4""",
        scope_prefix, since, until, limit, *(after or (None,)))


async def support_totals(conn: asyncpg.Connection, scope_prefix: str, since: date | None,
                         until: date | None) -> list[asyncpg.Record]:
    """Totals by fund, by township and by both (GROUPING tells them apart); the place is
    where the child lived when the gift was recorded."""
    return await conn.fetch(
        f"""SELECT s.fund, s.township_code, GROUPING(s.fund, s.township_code) AS grouping,
                   count(*) AS records, count(DISTINCT s.child_id) AS children,
                   sum(s.amount_fen) AS amount_fen,
                   count(*) FILTER (WHERE s.kind = 'in_kind') AS gifts_in_kind,
                   count(*) FILTER (WHERE s.flagged_duplicate_of IS NOT NULL) AS flagged
              FROM support_records s
             WHERE {in_scope('s', '$1')}
               AND ($2::date IS NULL OR s.given_on >= $2) AND ($3::date IS NULL OR s.given_on < $3)
             GROUP BY GROUPING SETS ((), (s.fund), (s.township_code), (s.fund, s.township_code))
             ORDER BY grouping DESC, s.fund NULLS FIRST, s.township_code NULLS FIRST""",
        scope_prefix, since, until)

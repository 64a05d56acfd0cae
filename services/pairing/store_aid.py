"""SQL for aid programmes (资助项目), their distribution lists and the aid ledger."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Mapping, Sequence
from uuid import UUID

import asyncpg

from services.pairing.store import in_scope
from services.pairing.store_support import SUPPORT_COLUMNS

PROGRAMME_COLUMNS = """p.id, p.county_code, p.scope_code, p.scope_prefix, p.name, p.fund, p.kind, p.item, p.amount_fen,
    p.budget_fen, p.cohort, p.active, p.version, p.created_by, p.created_at, p.updated_at,
    coalesce((SELECT sum(s.amount_fen) FROM support_records s WHERE s.programme_id = p.id), 0) AS spent_fen,
    (SELECT count(*) FROM support_records s WHERE s.programme_id = p.id) AS given"""

# A programme is seen by staff within its place, and by staff of a place within it (a
# township's clerk draws the township's list of a county programme).
VISIBLE = "(p.scope_prefix LIKE $1 || '%' OR $1 LIKE p.scope_prefix || '%')"


async def insert_programme(conn: asyncpg.Connection, values: Mapping[str, Any]) -> asyncpg.Record:
    await conn.execute(
        """INSERT INTO aid_programmes (id, county_code, scope_code, scope_prefix, name, fund, kind, item, amount_fen,
                                       budget_fen, cohort, active, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13)""",
        values["id"], values["county_code"], values["scope_code"], values["scope_prefix"], values["name"], values["fund"],
        values["kind"], values["item"], values["amount_fen"], values["budget_fen"], json.dumps(values["cohort"]),
        values["active"], values["created_by"])
    return await get_programme(conn, values["id"])


async def get_programme(conn: asyncpg.Connection, programme_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
    if lock:  # confirmations of one programme's lists take turns: the budget is read after the last one
        await conn.execute("SELECT 1 FROM aid_programmes WHERE id = $1 FOR UPDATE", programme_id)
    return await conn.fetchrow(f"SELECT {PROGRAMME_COLUMNS} FROM aid_programmes p WHERE p.id = $1", programme_id)


async def programmes(conn: asyncpg.Connection, scope_prefix: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {PROGRAMME_COLUMNS} FROM aid_programmes p WHERE {VISIBLE} ORDER BY p.active DESC, p.created_at DESC",
        scope_prefix)


async def update_programme(conn: asyncpg.Connection, programme_id: UUID, values: Mapping[str, Any],
                           version: int) -> asyncpg.Record | None:
    """None when the version is not `version` (someone changed it meanwhile)."""
    changed = await conn.fetchval(
        """UPDATE aid_programmes SET name = $3, fund = $4, item = $5, amount_fen = $6, budget_fen = $7,
                  cohort = $8::jsonb, active = $9, version = version + 1, updated_at = now()
            WHERE id = $1 AND version = $2 RETURNING id""",
        programme_id, version, values["name"], values["fund"], values["item"], values["amount_fen"],
        values["budget_fen"], json.dumps(values["cohort"]), values["active"])
    return None if changed is None else await get_programme(conn, programme_id)


async def cohort_children(conn: asyncpg.Connection, programme_prefix: str, caller_prefix: str,
                          cohort: Mapping[str, Any]) -> list[asyncpg.Record]:
    """Active children of the programme's place and the caller's, matching the cohort rule;
    oldest known first (the draft's row order)."""
    return await conn.fetch(
        f"""SELECT c.id FROM children c
             WHERE c.status = 'active' AND {in_scope('c', '$1')} AND {in_scope('c', '$2')}
               AND ($3::text IS NULL OR c.township_code = $3) AND ($4::text IS NULL OR c.village_code = $4)
               AND ($5::text[] IS NULL OR c.school_id = ANY($5)) AND ($6::text[] IS NULL OR c.age_band = ANY($6))
               AND (NOT $7 OR c.priority)
             ORDER BY c.township_code, c.village_code NULLS LAST, c.school_id NULLS LAST, c.first_seen_at, c.id""",
        programme_prefix, caller_prefix, cohort.get("township_code"), cohort.get("village_code"),
        cohort.get("school_ids") or None, cohort.get("age_bands") or None, bool(cohort.get("priority_only")))


async def children_in_scope(conn: asyncpg.Connection, child_ids: Sequence[UUID], programme_prefix: str,
                            caller_prefix: str) -> dict[UUID, asyncpg.Record]:
    rows = await conn.fetch(
        f"""SELECT c.* FROM children c WHERE c.id = ANY($1::uuid[])
              AND {in_scope('c', '$2')} AND {in_scope('c', '$3')}""",
        list(child_ids), programme_prefix, caller_prefix)
    return {row["id"]: row for row in rows}


async def given_this_term(conn: asyncpg.Connection, programme_id: UUID, period_key: str,
                          child_ids: Sequence[UUID]) -> set[UUID]:
    rows = await conn.fetch(
        """SELECT child_id FROM support_records
            WHERE programme_id = $1 AND period_key = $2 AND child_id = ANY($3::uuid[])""",
        programme_id, period_key, list(child_ids))
    return {row["child_id"] for row in rows}


async def insert_list(conn: asyncpg.Connection, values: Mapping[str, Any],
                      rows: Sequence[tuple[int, UUID, int, str | None]]) -> None:
    await conn.execute(
        """INSERT INTO aid_lists (id, programme_id, period_key, given_on, source, created_by)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        values["id"], values["programme_id"], values["period_key"], values["given_on"], values["source"],
        values["created_by"])
    await conn.execute(
        """INSERT INTO aid_list_rows (list_id, row_no, child_id, amount_fen, receipt_no)
           SELECT $1, r.row_no, r.child_id, r.amount_fen, r.receipt_no
             FROM unnest($2::int[], $3::uuid[], $4::bigint[], $5::text[]) AS r(row_no, child_id, amount_fen, receipt_no)""",
        values["id"], [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])


LIST_COLUMNS = """l.id, l.programme_id, l.period_key, l.given_on, l.source, l.status, l.receipt_no, l.version,
    l.created_by, l.created_at, l.confirmed_by, l.confirmed_at, p.name AS programme_name, p.scope_prefix,
    (SELECT count(*) FROM aid_list_rows r WHERE r.list_id = l.id) AS children,
    (SELECT coalesce(sum(r.amount_fen), 0) FROM aid_list_rows r WHERE r.list_id = l.id) AS amount_fen"""


async def get_list(conn: asyncpg.Connection, list_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
    if lock:
        await conn.execute("SELECT 1 FROM aid_lists WHERE id = $1 FOR UPDATE", list_id)
    return await conn.fetchrow(
        f"SELECT {LIST_COLUMNS} FROM aid_lists l JOIN aid_programmes p ON p.id = l.programme_id WHERE l.id = $1",
        list_id)


async def lists_of_programme(conn: asyncpg.Connection, programme_id: UUID) -> list[asyncpg.Record]:
    """The programme's lists, newest first: the drafts to review and the aid ledger (confirmed)."""
    return await conn.fetch(
        f"""SELECT {LIST_COLUMNS} FROM aid_lists l JOIN aid_programmes p ON p.id = l.programme_id
             WHERE l.programme_id = $1 ORDER BY l.given_on DESC, l.created_at DESC""", programme_id)


async def list_rows(conn: asyncpg.Connection, list_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT r.row_no, r.child_id, r.amount_fen, r.receipt_no, r.support_id, c.county_code, c.township_code, c.village_code,
                  c.school_id
             FROM aid_list_rows r JOIN children c ON c.id = r.child_id
            WHERE r.list_id = $1 ORDER BY r.row_no""", list_id)


async def remove_row(conn: asyncpg.Connection, list_id: UUID, child_id: UUID) -> bool:
    removed = await conn.fetchval(
        "DELETE FROM aid_list_rows WHERE list_id = $1 AND child_id = $2 RETURNING row_no", list_id, child_id)
    if removed is not None:
        await conn.execute("UPDATE aid_lists SET version = version + 1 WHERE id = $1", list_id)
    return removed is not None


async def confirm_list(conn: asyncpg.Connection, list_id: UUID, *, given_on: date, receipt_no: str,
                       by: str, supports: Sequence[tuple[int, UUID]]) -> None:
    await conn.execute(
        """UPDATE aid_list_rows r SET support_id = s.support_id
             FROM unnest($2::int[], $3::uuid[]) AS s(row_no, support_id)
            WHERE r.list_id = $1 AND r.row_no = s.row_no""",
        list_id, [s[0] for s in supports], [s[1] for s in supports])
    await conn.execute(
        """UPDATE aid_lists SET status = 'confirmed', given_on = $2, receipt_no = $3, confirmed_by = $4,
                  confirmed_at = now(), version = version + 1 WHERE id = $1""",
        list_id, given_on, receipt_no, by)


async def insert_programme_support(conn: asyncpg.Connection, values: Mapping[str, Any]) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO support_records AS s (id, child_id, county_code, township_code, village_code, kind,
                                              amount_fen, item, fund, given_on, period_key, given_by_enc,
                                              flagged_duplicate_of, created_by, programme_id, list_id, receipt_no)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
            RETURNING {SUPPORT_COLUMNS}""",
        values["id"], values["child_id"], values["county_code"], values["township_code"], values["village_code"],
        values["kind"], values["amount_fen"], values["item"], values["fund"], values["given_on"],
        values["period_key"], values["given_by_enc"], values["flagged_duplicate_of"], values["created_by"],
        values["programme_id"], values["list_id"], values["receipt_no"])


async def ledger(conn: asyncpg.Connection, scope_prefix: str, since: date | None,
                 until: date | None) -> list[asyncpg.Record]:
    """The aid ledger: per programme and term, children given and the amount, within the
    caller's scope (the place where each child lived when given)."""
    return await conn.fetch(
        f"""SELECT p.id AS programme_id, p.name, p.fund, p.kind, p.item, p.budget_fen, s.period_key,
                   count(DISTINCT s.child_id) AS children, count(*) AS records, sum(s.amount_fen) AS amount_fen,
                   count(DISTINCT s.list_id) AS distributions
              FROM support_records s JOIN aid_programmes p ON p.id = s.programme_id
             WHERE {in_scope('s', '$1')}
               AND ($2::date IS NULL OR s.given_on >= $2) AND ($3::date IS NULL OR s.given_on < $3)
             GROUP BY p.id, s.period_key ORDER BY s.period_key DESC, p.name, p.id""",
        scope_prefix, since, until)


async def names(conn: asyncpg.Connection, ids: Sequence[UUID]) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT id, name FROM aid_programmes WHERE id = ANY($1::uuid[])", list(ids))

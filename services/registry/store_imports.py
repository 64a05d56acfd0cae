"""SQL of bulk imports: jobs, their claim by a worker, batch commits and row errors."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from typing import Any, Callable
from uuid import UUID

import asyncpg

from services.registry import child_fields
from services.registry.store import CHILD_COLUMNS

JOB_COLUMNS = ("id, created_by, scope, file_format, status, rows_total, rows_done, rows_imported, rows_rejected,"
               " rows_existing, failure, created_at, started_at, finished_at, column_mapping, unmapped_columns,"
               " suggested_columns, rows_changed, rows_conflicting, headers")

_STAGE_TYPES = {
    "id": "uuid", "birth_date": "date", "categories": "text[]", "created_at": "timestamptz", "updated_at": "timestamptz",
    **{field.name: field.sql_type for field in child_fields.FIELDS},
}


async def create_job(conn: asyncpg.Connection, *, job_id: UUID, created_by: str, scope: str, file_format: str,
                     file_sha256: str, content: bytes, stored_rows: bytes | None, rows_total: int,
                     column_mapping: dict[str, str] | None = None, unmapped_columns: list[str] | None = None,
                     suggested_columns: dict[str, str] | None = None, headers: list[str] | None = None,
                     status: str = "pending") -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO import_jobs (id, created_by, scope, file_format, file_sha256, content, stored_rows, rows_total,
                                     column_mapping, unmapped_columns, suggested_columns, headers, status)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10, $11::text::jsonb, $12, $13)
            RETURNING {JOB_COLUMNS}""",
        job_id, created_by, scope, file_format, file_sha256, content, stored_rows, rows_total,
        json.dumps(column_mapping or {}, ensure_ascii=False), unmapped_columns or [],
        json.dumps(suggested_columns or {}, ensure_ascii=False), headers or [], status)


async def saved_mapping(conn: asyncpg.Connection, county: str) -> dict[str, str]:
    """The county's confirmed mapping: header → column key ('' for "not imported")."""
    rows = await conn.fetch("SELECT header, column_key FROM column_mappings WHERE county = $1", county)
    return {row["header"]: row["column_key"] for row in rows}


async def save_mapping(conn: asyncpg.Connection, county: str, mapping: dict[str, str], saved_by: str) -> None:
    await conn.executemany(
        """INSERT INTO column_mappings (county, header, column_key, saved_by) VALUES ($1, $2, $3, $4)
           ON CONFLICT (county, header) DO UPDATE SET column_key = excluded.column_key,
                  saved_by = excluded.saved_by, saved_at = now()""",
        [(county, header, key, saved_by) for header, key in mapping.items()])


async def job_for_mapping(conn: asyncpg.Connection, job_id: UUID, scope_prefix: str) -> asyncpg.Record | None:
    """A job awaiting its mapping, locked, with its stored rows."""
    return await conn.fetchrow(
        f"""SELECT {JOB_COLUMNS}, stored_rows FROM import_jobs
             WHERE id = $1 AND scope LIKE $2 || '%' FOR UPDATE""", job_id, scope_prefix)


async def confirm_mapping(conn: asyncpg.Connection, job_id: UUID, *, stored_rows: bytes, mapping: dict[str, str],
                          unmapped: list[str]) -> asyncpg.Record:
    """The job with its confirmed columns, pending: a worker claims it next."""
    return await conn.fetchrow(
        f"""UPDATE import_jobs SET stored_rows = $2, column_mapping = $3::text::jsonb, unmapped_columns = $4,
                  suggested_columns = '{{}}', status = 'pending'
             WHERE id = $1 RETURNING {JOB_COLUMNS}""",
        job_id, stored_rows, json.dumps(mapping, ensure_ascii=False), unmapped)


async def get_job_in_scope(conn: asyncpg.Connection, job_id: UUID, scope_prefix: str) -> asyncpg.Record | None:
    """A job is visible to whoever's scope covers the uploader's jurisdiction."""
    return await conn.fetchrow(f"SELECT {JOB_COLUMNS} FROM import_jobs WHERE id = $1 AND scope LIKE $2 || '%'",
                               job_id, scope_prefix)


async def list_jobs_in_scope(conn: asyncpg.Connection, scope_prefix: str, limit: int,
                             after: tuple[datetime, UUID] | None = None) -> list[asyncpg.Record]:
    """Newest first, from after the keyset position `after` (created_at, id)."""
    after_at, after_id = after or (None, None)
    return await conn.fetch(
        f"""SELECT {JOB_COLUMNS} FROM import_jobs WHERE scope LIKE $1 || '%'
               AND ($3::timestamptz IS NULL OR created_at < $3 OR (created_at = $3 AND id > $4::uuid))
             ORDER BY created_at DESC, id LIMIT $2""",
        scope_prefix, limit, after_at, after_id)


async def claim_job(conn: asyncpg.Connection, worker: str, stale_after_s: float,
                    now: datetime) -> asyncpg.Record | None:
    """The oldest pending job, or a running one whose worker stopped beating (it crashed):
    SKIP LOCKED lets several workers claim different jobs without waiting on each other.
    With the rows the api stored; the file itself only for a job stored without them."""
    return await conn.fetchrow(
        """UPDATE import_jobs SET status = 'running', claimed_by = $1, heartbeat_at = $3,
                  started_at = coalesce(started_at, $3)
            WHERE id = (SELECT id FROM import_jobs
                         WHERE status = 'pending'
                            OR (status = 'running' AND heartbeat_at < $3::timestamptz - make_interval(secs => $2))
                         ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id, created_by, scope, stored_rows, CASE WHEN stored_rows IS NULL THEN content END AS content,
                  rows_total, rows_done""",
        worker, stale_after_s, now)


async def still_owned(conn: asyncpg.Connection, job_id: UUID, worker: str) -> bool:
    """Locks the job row for this batch's transaction; False if another worker took it over."""
    owner = await conn.fetchval("SELECT claimed_by FROM import_jobs WHERE id = $1 AND status = 'running' FOR UPDATE",
                                job_id)
    return owner == worker


async def heartbeat(conn: asyncpg.Connection, job_id: UUID, worker: str, now: datetime) -> None:
    await conn.execute("UPDATE import_jobs SET heartbeat_at = $3 WHERE id = $1 AND claimed_by = $2",
                       job_id, worker, now)


async def registered_indexes(conn: asyncpg.Connection, indexes: list[str]) -> set[str]:
    """Which of these national ID blind indexes are already in the registry."""
    rows = await conn.fetch("SELECT national_id_index FROM children WHERE national_id_index = ANY($1::text[])",
                            indexes)
    return {row["national_id_index"] for row in rows}


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_generic(value: Any) -> str:
    """One value in COPY's text format (NULL is \\N; backslash, tab, newline, CR escaped)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (list, tuple)):
        return _copy_array(value)
    if isinstance(value, date):
        value = value.isoformat()
    return _escape(str(value))


def _copy_array(values: list[Any] | tuple[Any, ...]) -> str:
    return _escape("{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}")


# The types a `children` row holds, by exact class (a dict lookup instead of a chain of
# isinstance checks for each of a row's 25 values); anything else takes the generic path.
_COPY_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: _escape, type(None): lambda _value: "\\N", bool: lambda value: "t" if value else "f",
    UUID: str, int: str, date: date.isoformat, datetime: datetime.isoformat, list: _copy_array,
    tuple: _copy_array,
}


def copy_line(record: tuple[Any, ...]) -> str:
    """A `children` row (CHILD_COLUMNS order) as a line of COPY's text format."""
    return "\t".join([_COPY_BY_TYPE.get(value.__class__, _copy_generic)(value) for value in record]) + "\n"


async def copy_children(conn: asyncpg.Connection, lines: list[str]) -> None:
    """COPY straight into `children` (the fast path: the caller removed the IDs already
    registered). A concurrent registration of the same ID makes it raise
    UniqueViolationError; the caller then uses `stage_and_insert`. Text format, so that no
    client-side codec is involved (the pool's JSON codecs are text-only)."""
    await conn.copy_to_table("children", source=io.BytesIO("".join(lines).encode()), format="text",
                             columns=list(CHILD_COLUMNS))


async def stage_and_insert(conn: asyncpg.Connection, lines: list[str]) -> set[UUID]:
    """COPYs the batch into a temporary staging table, then moves it into `children` in one
    statement; rows whose national ID is already registered are skipped. Returns the ids
    inserted."""
    columns = ", ".join(f"{name} {_STAGE_TYPES.get(name, 'text')}" for name in CHILD_COLUMNS)
    await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS import_stage ({columns}) ON COMMIT DELETE ROWS")
    await conn.execute("TRUNCATE import_stage")
    await conn.copy_to_table("import_stage", source=io.BytesIO("".join(lines).encode()), format="text",
                             columns=list(CHILD_COLUMNS))
    select = ", ".join("lawful_basis::jsonb" if name == "lawful_basis" else name for name in CHILD_COLUMNS)
    rows = await conn.fetch(
        f"""INSERT INTO children ({', '.join(CHILD_COLUMNS)})
            SELECT {select} FROM import_stage
            ON CONFLICT (national_id_index) DO NOTHING RETURNING id""")
    return {row["id"] for row in rows}


async def add_errors(conn: asyncpg.Connection, job_id: UUID, errors: list[tuple[int, str, str]],
                     kind: str = "error") -> None:
    """`kind`: 'error' (refused rows) or 'existing' (already registered, not imported again)."""
    if not errors:
        return
    numbered = []
    per_row: dict[int, int] = {}
    for row_number, column, reason in errors:
        per_row[row_number] = per_row.get(row_number, 0) + 1
        numbered.append((job_id, row_number, column, reason, per_row[row_number], kind))
    await conn.executemany(
        """INSERT INTO import_errors (job_id, row_number, column_name, reason, seq, kind)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""", numbered)


async def advance(conn: asyncpg.Connection, job_id: UUID, *, rows_done: int, imported: int, rejected: int,
                  existing: int, now: datetime, changed: int = 0, conflicting: int = 0) -> None:
    await conn.execute(
        """UPDATE import_jobs SET rows_done = $2, rows_imported = rows_imported + $3,
                  rows_rejected = rows_rejected + $4, rows_existing = rows_existing + $5, heartbeat_at = $6,
                  rows_changed = rows_changed + $7, rows_conflicting = rows_conflicting + $8
            WHERE id = $1""",
        job_id, rows_done, imported, rejected, existing, now, changed, conflicting)


async def children_by_indexes(conn: asyncpg.Connection, indexes: list[str]) -> list[asyncpg.Record]:
    """The records holding these national ID blind indexes (whole rows, to compare with a sheet)."""
    return await conn.fetch("SELECT * FROM children WHERE national_id_index = ANY($1::text[])", indexes)


async def add_changes(conn: asyncpg.Connection, changes: list[tuple[Any, ...]]) -> None:
    """Proposed changes: (id, job, row, child, base version, encrypted values, field names)."""
    if changes:
        await conn.executemany(
            """INSERT INTO import_changes (id, job_id, row_number, child_id, base_version, changes_enc, fields)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (job_id, row_number) DO NOTHING""", changes)


async def list_changes(conn: asyncpg.Connection, job_id: UUID, scope_prefix: str, *, after_row: int,
                       limit: int | None, rows: list[int] | None = None,
                       status: str | None = None) -> list[asyncpg.Record]:
    """A job's proposed changes to records inside the scope, by sheet row, with the record."""
    return await conn.fetch(
        """SELECT c.id AS change_id, c.row_number, c.base_version, c.changes_enc, c.fields, c.status AS change_status,
                  c.reason AS change_reason, ch.*
             FROM import_changes c JOIN children ch ON ch.id = c.child_id
            WHERE c.job_id = $1 AND coalesce(ch.village_code, ch.township_code) LIKE $2 || '%'
              AND c.row_number > $3 AND ($5::int[] IS NULL OR c.row_number = ANY($5))
              AND ($6::text IS NULL OR c.status = $6)
            ORDER BY c.row_number LIMIT $4""",
        job_id, scope_prefix, after_row, limit, rows, status)


async def count_changes(conn: asyncpg.Connection, job_id: UUID, scope_prefix: str) -> int:
    return await conn.fetchval(
        """SELECT count(*) FROM import_changes c JOIN children ch ON ch.id = c.child_id
            WHERE c.job_id = $1 AND coalesce(ch.village_code, ch.township_code) LIKE $2 || '%'""",
        job_id, scope_prefix)


async def decide_change(conn: asyncpg.Connection, change_id: UUID, *, status: str, reason: str | None,
                        decided_by: str, now: datetime) -> None:
    await conn.execute(
        """UPDATE import_changes SET status = $2, reason = $3, decided_by = $4, decided_at = $5
            WHERE id = $1""", change_id, status, reason, decided_by, now)


async def finish(conn: asyncpg.Connection, job_id: UUID, *, now: datetime, failure: str | None = None) -> None:
    """Done (or failed): the uploaded file and its rows are no longer needed and are dropped."""
    await conn.execute(
        """UPDATE import_jobs SET status = $2, failure = $3, content = NULL, stored_rows = NULL, finished_at = $4,
                  heartbeat_at = $4
            WHERE id = $1""",
        job_id, "failed" if failure else "done", failure, now)


async def list_errors(conn: asyncpg.Connection, job_id: UUID, *, kind: str = "error", after_row: int = 0,
                      limit: int | None = None) -> list[asyncpg.Record]:
    """A page of a job's report: every line of the first `limit` sheet rows after
    `after_row` (a row's problems are never split between pages); all of it without `limit`."""
    return await conn.fetch(
        """WITH page AS (SELECT DISTINCT row_number FROM import_errors
                          WHERE job_id = $1 AND kind = $2 AND row_number > $3 ORDER BY row_number LIMIT $4)
           SELECT row_number, column_name, reason FROM import_errors JOIN page USING (row_number)
            WHERE job_id = $1 AND kind = $2 ORDER BY row_number, seq""",
        job_id, kind, after_row, limit)


async def count_rows(conn: asyncpg.Connection, job_id: UUID, kind: str = "error") -> int:
    """How many sheet rows the report lists."""
    return await conn.fetchval("SELECT count(DISTINCT row_number) FROM import_errors WHERE job_id = $1 AND kind = $2",
                               job_id, kind)

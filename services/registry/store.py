"""Every SQL statement about child records. Functions take a connection; callers own transactions.

Scope: a record lies in a principal's jurisdiction when coalesce(village_code,
township_code) starts with the principal's scope prefix. Records outside answer None, so
the route says 404 ("not there"), never 403.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, AsyncIterator, Iterable
from uuid import UUID

import asyncpg

from services.registry import child_fields
from services.registry.child_fields import ChildField
from services.registry.domain import NewChild
from shared import audit

# Made once (json.dumps with options builds an encoder per call).
_BASIS_JSON = json.JSONEncoder(default=str).encode
_SCOPE = "coalesce(village_code, township_code) LIKE {p} || '%'"

# The columns with their own rules, then the plain fields (child_fields.py) in table order.
_OWN_COLUMNS = (
    "id", "name", "search_text", "gender", "birth_date", "national_id_enc", "national_id_index",
    "county_code", "township_code", "village_code", "school_id", "address_enc", "categories", "sensitive_enc",
    "priority_reason_enc", "contact_card_enc", "lawful_basis", "source", "created_by", "created_at", "updated_at",
    "particulars_enc",
)
# Not rewritten by a change (updated_at is set beside the version).
_KEPT_COLUMNS = ("id", "source", "created_by", "created_at", "updated_at")


def child_columns(fields: Iterable[ChildField] = child_fields.FIELDS) -> tuple[str, ...]:
    return _OWN_COLUMNS + child_fields.names(fields)


CHILD_COLUMNS = child_columns()


class DuplicateNationalId(Exception):
    """Another record already holds this national ID number."""


def child_values(child: NewChild, sealed: dict[str, Any], search_text: str, *, source: str,
                 created_by: str, recorded_at: datetime) -> tuple[Any, ...]:
    """One row of `children` in CHILD_COLUMNS order (also what the import COPYs).
    `recorded_at`: the clock's now, from which the record's history counts it."""
    j = child.jurisdiction
    own = (
        child.id, child.name, search_text, child.gender, child.birth_date, sealed["national_id_enc"],
        sealed["national_id_index"], j.county_code, j.township_code, j.village_code, child.school_id,
        sealed["address_enc"], list(child.categories), sealed["sensitive_enc"], sealed["priority_reason_enc"],
        sealed["contact_card_enc"], _BASIS_JSON(child.lawful_basis), source, created_by, recorded_at, recorded_at,
        sealed["particulars_enc"],
    )
    return own + tuple(getattr(child, name) for name in child_fields.names())


def _placeholder(number: int, column: str) -> str:
    return f"${number}::text::jsonb" if column == "lawful_basis" else f"${number}"


def insert_sql(columns: tuple[str, ...] = CHILD_COLUMNS) -> str:
    placeholders = ", ".join(_placeholder(i, name) for i, name in enumerate(columns, start=1))
    return f"INSERT INTO children ({', '.join(columns)}) VALUES ({placeholders})"


# $1 id, $2 the expected version; $3-$6 the status change; then the record's columns.
_REPLACE_FIRST = 7


def replace_sql(columns: tuple[str, ...] = CHILD_COLUMNS) -> str:
    """UPDATE of every column a change may write, the parameters in `columns` order
    (what child_values gives) after the six of the status change."""
    written = [name for name in columns if name not in _KEPT_COLUMNS]
    sets = ", ".join(f"{name} = {_placeholder(_REPLACE_FIRST + i, name)}" for i, name in enumerate(written))
    return f"""UPDATE children SET {sets},
                   status = coalesce($3, status),
                   status_changed_at = CASE WHEN $3::text IS NOT NULL AND $3 <> status THEN $6
                                            ELSE status_changed_at END,
                   close_reason = CASE WHEN $5 THEN close_reason ELSE $4 END,
                   version = version + 1, updated_at = $6
             WHERE id = $1 AND version = $2
            RETURNING *"""


_INSERT_CHILD = insert_sql()
_REPLACE_CHILD = replace_sql()


async def insert_child(conn: asyncpg.Connection, values: tuple[Any, ...]) -> None:
    try:
        await conn.execute(_INSERT_CHILD, *values)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "children_national_id_index_key":
            raise DuplicateNationalId() from None
        raise


async def find_by_national_id_index(conn: asyncpg.Connection, index: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, county_code, township_code, village_code FROM children WHERE national_id_index = $1", index)


async def get_child_in_scope(conn: asyncpg.Connection, child_id: UUID, scope_prefix: str, *,
                             school_id: str | None = None) -> asyncpg.Record | None:
    """A record outside the caller's jurisdiction (or, when given, the caller's school) is
    treated as not there at all."""
    return await conn.fetchrow(
        f"SELECT * FROM children WHERE id = $1 AND {_SCOPE.format(p='$2')} AND ($3::text IS NULL OR school_id = $3)",
        child_id, scope_prefix, school_id)


async def names_in_scope(conn: asyncpg.Connection, child_ids: list[UUID], scope_prefix: str,
                         school_id: str | None = None) -> list[asyncpg.Record]:
    """Id, name and place of each of these children that lies in the scope (and in the school,
    when given), with the school's name from the county's school register; others are left out."""
    return await conn.fetch(
        """SELECT c.id, c.name, c.county_code, c.township_code, c.village_code, c.school_id,
                   s.name AS school_name
              FROM children c LEFT JOIN schools s ON s.id = c.school_id AND s.county_code = c.county_code
             WHERE c.id = ANY($1::uuid[]) AND coalesce(c.village_code, c.township_code) LIKE $2 || '%'
               AND ($3::text IS NULL OR c.school_id = $3)""",
        child_ids, scope_prefix, school_id)


async def children_by_id_index(conn: asyncpg.Connection, indexes: list[str], scope_prefix: str,
                               school_id: str | None) -> dict[str, UUID]:
    """National-ID blind index → the child's id, for those in the scope (and school); any status."""
    rows = await conn.fetch(
        f"""SELECT id, national_id_index FROM children
             WHERE national_id_index = ANY($1::text[]) AND {_SCOPE.format(p='$2')}
               AND ($3::text IS NULL OR school_id = $3)""",
        indexes, scope_prefix, school_id)
    return {row["national_id_index"]: row["id"] for row in rows}


async def children_by_name_and_birth(conn: asyncpg.Connection, pairs: list[tuple[str, date]], scope_prefix: str,
                                     school_id: str | None) -> dict[tuple[str, date], list[UUID]]:
    """(name, birth date) → the active children in the scope (and school) with both, at most
    two each (two already say "ambiguous")."""
    rows = await conn.fetch(
        f"""SELECT q.name, q.birth_date, m.ids
              FROM unnest($1::text[], $2::date[]) AS q(name, birth_date),
                   LATERAL (SELECT array_agg(found.id) AS ids FROM (
                              SELECT id FROM children c
                               WHERE c.name = q.name AND c.birth_date = q.birth_date AND c.status = 'active'
                                 AND {_SCOPE.format(p='$3')} AND ($4::text IS NULL OR c.school_id = $4)
                               ORDER BY id LIMIT 2) found) m
             WHERE m.ids IS NOT NULL""",
        [p[0] for p in pairs], [p[1] for p in pairs], scope_prefix, school_id)
    return {(row["name"], row["birth_date"]): list(row["ids"]) for row in rows}


async def children_in_scope(conn: asyncpg.Connection, child_ids: list[UUID], scope_prefix: str) -> list[asyncpg.Record]:
    """Whole records of these children that lie in the scope; others are left out."""
    return await conn.fetch(
        f"SELECT * FROM children WHERE id = ANY($1::uuid[]) AND {_SCOPE.format(p='$2')} ORDER BY id",
        child_ids, scope_prefix)


async def replace_child(conn: asyncpg.Connection, child: NewChild, sealed: dict[str, Any], search_text: str,
                        *, expected_version: int, recorded_at: datetime, status: str | None = None,
                        close_reason: str | None = None, keep_close_reason: bool = True) -> asyncpg.Record | None:
    """Writes the whole record if it is still at `expected_version`; None when it is not
    (someone else wrote first: the caller answers 409, nothing is applied)."""
    values = child_values(child, sealed, search_text, source="", created_by="", recorded_at=recorded_at)
    written = [value for name, value in zip(CHILD_COLUMNS, values) if name not in _KEPT_COLUMNS]
    try:
        return await conn.fetchrow(_REPLACE_CHILD, child.id, expected_version, status, close_reason,
                                   keep_close_reason, recorded_at, *written)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "children_national_id_index_key":
            raise DuplicateNationalId() from None
        raise


@dataclass(frozen=True)
class ChildFilter:
    township_code: str | None = None
    village_code: str | None = None
    school_id: str | None = None
    category: str | None = None
    status: str | None = None
    gender: str | None = None
    left_behind_type: str | None = None
    priority: bool | None = None
    born_after: date | None = None     # inclusive bounds from an age range
    born_before: date | None = None
    caregiver_id: UUID | None = None   # children currently paired with this caregiver (from pairing's events)
    paired: bool | None = None         # paired with anyone now, or with no one


def _where(scope_prefix: str, filters: ChildFilter, args: list[Any]) -> str:
    args.append(scope_prefix)
    clauses = [_SCOPE.format(p=f"${len(args)}")]
    for column, value in (("township_code", filters.township_code), ("village_code", filters.village_code),
                          ("school_id", filters.school_id), ("status", filters.status),
                          ("gender", filters.gender), ("left_behind_type", filters.left_behind_type),
                          ("priority", filters.priority)):
        if value is not None:
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
    if filters.category is not None:
        args.append(filters.category)
        clauses.append(f"${len(args)} = ANY(categories)")
    if filters.born_after is not None:
        args.append(filters.born_after)
        clauses.append(f"birth_date >= ${len(args)}")
    if filters.born_before is not None:
        args.append(filters.born_before)
        clauses.append(f"birth_date <= ${len(args)}")
    if filters.caregiver_id is not None:
        args.append(filters.caregiver_id)
        clauses.append(f"""EXISTS (SELECT 1 FROM caregiver_pairings p WHERE p.child_id = children.id
                                     AND p.caregiver_id = ${len(args)}
                                     AND p.started_on IS NOT NULL AND p.ended_on IS NULL)""")
    if filters.paired is not None:
        clauses.append(f"""{'' if filters.paired else 'NOT '}EXISTS (SELECT 1 FROM caregiver_pairings p
                              WHERE p.child_id = children.id AND p.started_on IS NOT NULL AND p.ended_on IS NULL)""")
    return " AND ".join(clauses)


async def list_children_in_scope(conn: asyncpg.Connection, scope_prefix: str, *, after: UUID | None,
                                 limit: int, filters: ChildFilter = ChildFilter()) -> list[asyncpg.Record]:
    """Keyset pagination by id: stable under concurrent inserts, cheap at any depth."""
    args: list[Any] = []
    where = _where(scope_prefix, filters, args)
    args += [after, limit]
    return await conn.fetch(
        f"""SELECT * FROM children WHERE {where} AND (${len(args) - 1}::uuid IS NULL OR id > ${len(args) - 1})
            ORDER BY id LIMIT ${len(args)}""", *args)


async def search_children(conn: asyncpg.Connection, scope_prefix: str, query: str, *, limit: int,
                          filters: ChildFilter = ChildFilter(), offset: int = 0) -> list[asyncpg.Record]:
    """Substring match on name, pinyin or initials, best matches first. search_text and the
    query (pinyin.normalize_query) are both lower-case, so LIKE: ILIKE lower-cases every
    row it reads, ~3× the cost where no index narrows the rows. The trigram index serves
    queries of three characters or more; a shorter one with a Chinese character in it can
    only match inside the name, so the name's characters (index children_name_characters)
    narrow it; one or two latin letters (w, zh) still read every child in scope."""
    args: list[Any] = []
    where = _where(scope_prefix, filters, args)
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if len(query) < 3 and not query.isascii():
        args.append(list(query))
        where += f" AND string_to_array(lower(name), NULL) @> ${len(args)}::text[]"
    args += [pattern, query, limit, offset]
    n = len(args)
    # A plan for this query: PostgreSQL's generic plan of a prepared statement (chosen after
    # five runs) cannot know whether the pattern has trigrams and may scan the whole trigram
    # index for '%王振%' (~150 ms at 100,000 children instead of ~1 ms).
    async with conn.transaction(readonly=True):
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        return await conn.fetch(
            f"""SELECT * FROM children WHERE {where} AND search_text LIKE ${n - 3}
                ORDER BY similarity(search_text, ${n - 2}) DESC, name, id LIMIT ${n - 1} OFFSET ${n}""", *args)


async def iterate_children(conn: asyncpg.Connection, scope_prefix: str,
                           filters: ChildFilter) -> AsyncIterator[asyncpg.Record]:
    """Every record in scope, streamed (the caller holds a transaction), for exports."""
    args: list[Any] = []
    where = _where(scope_prefix, filters, args)
    async for row in conn.cursor(f"SELECT * FROM children WHERE {where} ORDER BY township_code, school_id, name",
                                 *args, prefetch=1000):
        yield row


async def add_growth_note(conn: asyncpg.Connection, *, note_id: UUID, child_id: UUID, noted_on: date,
                          area: str, note_enc: str, author: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """INSERT INTO growth_notes (id, child_id, noted_on, area, note_enc, author)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        note_id, child_id, noted_on, area, note_enc, author)


async def list_growth_notes(conn: asyncpg.Connection, child_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM growth_notes WHERE child_id = $1 ORDER BY noted_on, created_at",
                            child_id)


async def record_sensitive_read(conn: asyncpg.Connection, *, subject: str, roles: list[str], action: str,
                                record_ids: list[UUID], fields: list[str], purpose: str) -> None:
    """A clear read of children's records, in the audit every service shares (shared/audit.py)."""
    await audit.record_read(conn, subject=subject, roles=roles, action=action, record_kind="child",
                            record_ids=record_ids, fields=fields, purpose=purpose)


async def promote_grades(conn: asyncpg.Connection, scope_prefix: str, *, school_id: str | None,
                         next_grade: dict[str, str]) -> list[asyncpg.Record]:
    """Every open record in the scope (and school) whose grade has a next one moves up a
    grade, as a new version. Returns the facts its events need."""
    return await conn.fetch(
        f"""UPDATE children c SET grade = n.next, version = version + 1, updated_at = now()
              FROM jsonb_each_text($2::text::jsonb) AS n(grade, next)
             WHERE c.grade = n.grade AND c.status <> 'closed' AND {_SCOPE.format(p='$1')}
               AND ($3::text IS NULL OR c.school_id = $3)
         RETURNING c.id, c.county_code, c.township_code, c.village_code, c.school_id, c.categories,
                   c.left_behind_type, c.priority, c.birth_date, c.status, c.version""",
        scope_prefix, json.dumps(next_grade, ensure_ascii=False), school_id)


async def count_in_grades(conn: asyncpg.Connection, scope_prefix: str, *, school_id: str | None,
                          grades: tuple[str, ...]) -> int:
    return await conn.fetchval(
        f"""SELECT count(*) FROM children WHERE grade = ANY($2::text[]) AND status <> 'closed'
               AND {_SCOPE.format(p='$1')} AND ($3::text IS NULL OR school_id = $3)""",
        scope_prefix, list(grades), school_id)


async def record_promotion(conn: asyncpg.Connection, *, scope: str, school_year: int, promoted: int,
                           promoted_by: str) -> bool:
    """False when this place was already promoted this school year."""
    return await conn.fetchval(
        """INSERT INTO grade_promotions (scope, school_year, promoted, promoted_by) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING true""", scope, school_year, promoted, promoted_by) is not None

"""SQL for the statistics: coverage, the unpaired count, caregiver activity."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg

from services.pairing.store import in_scope


_COVERAGE_GROUPS = """
            SELECT township_code, school_id, GROUPING(township_code, school_id) AS grouping,
                   count(*) AS active, count(*) FILTER (WHERE paired) AS paired,
                   count(*) FILTER (WHERE priority) AS priority_active,
                   count(*) FILTER (WHERE priority AND paired) AS priority_paired
              FROM active_children
             GROUP BY GROUPING SETS ((), (township_code), (school_id))
             ORDER BY grouping DESC, township_code NULLS FIRST, school_id NULLS FIRST"""


async def coverage(conn: asyncpg.Connection, scope_prefix: str, school_id: str | None = None) -> list[asyncpg.Record]:
    """Active children and those with an active pairing, in total, by township and by
    school, priority children counted separately. `grouping` tells the rows apart."""
    return await conn.fetch(
        f"""WITH active_children AS (
                SELECT c.township_code, c.school_id, c.priority,
                       EXISTS (SELECT 1 FROM pairings p WHERE p.child_id = c.id AND p.ended_on IS NULL) AS paired
                  FROM children c
                 WHERE c.status = 'active' AND {in_scope('c', '$1')} AND ($2::text IS NULL OR c.school_id = $2))
            {_COVERAGE_GROUPS}""",
        scope_prefix, school_id)


async def first_recorded(conn: asyncpg.Connection) -> datetime | None:
    """When the projection took in its first child (the history's start)."""
    return await conn.fetchval("SELECT min(valid_from) FROM child_history")


async def coverage_as_of(conn: asyncpg.Connection, scope_prefix: str, school_id: str | None, at: datetime,
                         day: date) -> list[asyncpg.Record]:
    """`coverage` as it stood at the end of `day` (`at`): each child's version in effect
    then (the history), and the pairings that had started by that day and not ended on or
    before it (a pairing counts by its own start and end days)."""
    return await conn.fetch(
        f"""WITH active_children AS (
                SELECT c.township_code, c.school_id, c.priority,
                       EXISTS (SELECT 1 FROM pairings p WHERE p.child_id = c.child_id AND p.started_on <= $4
                                  AND (p.ended_on IS NULL OR p.ended_on > $4)) AS paired
                  FROM child_history c
                 WHERE c.valid_from < $3 AND (c.valid_to IS NULL OR c.valid_to >= $3)
                   AND c.status = 'active' AND {in_scope('c', '$1')} AND ($2::text IS NULL OR c.school_id = $2))
            {_COVERAGE_GROUPS}""",
        scope_prefix, school_id, at, day)


async def count_unpaired(conn: asyncpg.Connection, scope_prefix: str, school_id: str | None) -> int:
    return await conn.fetchval(
        f"""SELECT count(*) FROM children c
             WHERE c.status = 'active' AND {in_scope('c', '$1')} AND ($2::text IS NULL OR c.school_id = $2)
               AND NOT EXISTS (SELECT 1 FROM pairings p WHERE p.child_id = c.id AND p.ended_on IS NULL)""",
        scope_prefix, school_id)


async def caregiver_activity(conn: asyncpg.Connection, scope_prefix: str, since: datetime, until: datetime,
                             caregiver_id: UUID | None, county_timezone: str,
                             school_id: str | None = None) -> list[asyncpg.Record]:
    """Per caregiver in scope (and of a school, when given): contacts logged in [since, until)
    by kind, in total and per month (the county's zone), and the children paired with them in
    that period (for 评比考核). Caregivers with no contact are listed too."""
    return await conn.fetch(
        f"""SELECT g.id, g.kind, g.township_code, g.school_id, g.active,
                   (SELECT count(*) FROM pairings p
                     WHERE p.caregiver_id = g.id AND p.started_on < ($3 AT TIME ZONE $5)::date
                       AND (p.ended_on IS NULL OR p.ended_on >= ($2 AT TIME ZONE $5)::date)) AS children_paired,
                   coalesce((SELECT jsonb_object_agg(kind, n) FROM (
                        SELECT k.kind, count(*) AS n FROM caregiver_contacts k
                         WHERE k.caregiver_id = g.id AND k.occurred_at >= $2 AND k.occurred_at < $3
                         GROUP BY k.kind) per_kind), '{{}}'::jsonb) AS contacts,
                   coalesce((SELECT jsonb_object_agg(month, kinds) FROM (
                        SELECT month, jsonb_object_agg(kind, n) AS kinds FROM (
                            SELECT to_char(k.occurred_at AT TIME ZONE $5, 'YYYY-MM') AS month,
                                   k.kind, count(*) AS n
                              FROM caregiver_contacts k
                             WHERE k.caregiver_id = g.id AND k.occurred_at >= $2 AND k.occurred_at < $3
                             GROUP BY 1, 2) per_month_kind
                         GROUP BY month) per_month), '{{}}'::jsonb) AS contacts_by_month
              FROM caregivers g
             WHERE {in_scope('g', '$1')} AND ($4::uuid IS NULL OR g.id = $4)
               AND ($6::text IS NULL OR g.school_id = $6)
             ORDER BY g.township_code, g.id""",
        scope_prefix, since, until, caregiver_id, county_timezone, school_id)

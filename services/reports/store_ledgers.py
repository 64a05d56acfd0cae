"""SQL of the ledgers (台账): the rows of each ledger from the read model, for a scope (a
division prefix, optionally one school), a window and what was recorded before the as-of
date ended. Ids, codes, kinds and times only: the names are asked of their owners when the
ledger is printed. Each query is ordered so that `offset` pages through it."""

from __future__ import annotations

import asyncpg

from services.reports.domain import Window

# $1 the scope's division prefix, $2 the school (or NULL), $3 offset, $4 limit (NULL: all).
_IN_SCOPE = "coalesce({t}.village_code, {t}.township_code) LIKE $1 || '%'"
_PAGE = "OFFSET $3 LIMIT $4"

_CHILDREN = f"""
    WITH latest AS (
        SELECT DISTINCT ON (child_id) child_id, township_code, village_code, school_id, status, priority,
               left_behind_type, categories
          FROM child_versions WHERE effective_at < $5 ORDER BY child_id, record_version DESC)
    SELECT l.*, (SELECT array_agg(p.caregiver_id ORDER BY p.role <> 'lead', p.started_on) FROM pairings p
                  WHERE p.child_id = l.child_id AND p.recorded_at < $5 AND p.started_on <= $6
                    AND (p.ended_on IS NULL OR p.ended_on > $6 OR p.ended_recorded_at >= $5)) AS caregivers
      FROM latest l
     WHERE l.status <> 'closed' AND {_IN_SCOPE.format(t='l')} AND ($2::text IS NULL OR l.school_id = $2)
     ORDER BY l.township_code, l.village_code NULLS FIRST, l.school_id NULLS FIRST, l.child_id {_PAGE}"""

_PAIRINGS = f"""
    SELECT pairing_id, child_id, caregiver_id, role, township_code, village_code, school_id, priority,
           started_on, CASE WHEN ended_recorded_at < $5 THEN ended_on END AS ended_on,
           CASE WHEN ended_recorded_at < $5 THEN end_reason END AS end_reason
      FROM pairings p
     WHERE p.recorded_at < $5 AND p.started_on <= $7
       AND (p.ended_on IS NULL OR p.ended_on >= $6 OR p.ended_recorded_at >= $5)
       AND {_IN_SCOPE.format(t='p')} AND ($2::text IS NULL OR p.school_id = $2)
     ORDER BY township_code, started_on, pairing_id {_PAGE}"""

_CONTACTS = f"""
    SELECT contact_id, child_id, caregiver_id, kind, occurred_at, township_code, village_code, concern_raised
      FROM contacts c
     WHERE c.occurred_at >= $6 AND c.occurred_at < $7 AND c.recorded_at < $5 AND {_IN_SCOPE.format(t='c')}
       AND ($2::text IS NULL OR child_school_at(c.child_id, c.occurred_at) = $2)
     ORDER BY occurred_at, contact_id {_PAGE}"""

_CONCERNS = f"""
    SELECT concern_id, child_id, severity, mandatory_report, raised_at, township_code, village_code,
           CASE WHEN acknowledged_at < $5 THEN acknowledged_at END AS acknowledged_at, escalation_level
      FROM concerns c
     WHERE c.raised_at >= $6 AND c.raised_at < $7 AND c.raised_at < $5 AND {_IN_SCOPE.format(t='c')}
       AND ($2::text IS NULL OR child_school_at(c.child_id, c.raised_at) = $2)
     ORDER BY raised_at, concern_id {_PAGE}"""

# The support ledger: group activities held and aid or gifts given to a child in the period,
# one list by day (activities first on a day). A row is either; the other's columns are NULL.
_SUPPORT = f"""
    SELECT * FROM (
        SELECT 'activity' AS entry, activity_id AS entry_id, held_on AS on_day, activity_type,
               NULL::uuid AS child_id, NULL::text AS support_kind, NULL::bigint AS amount_fen,
               NULL::uuid AS duplicate_of, township_code, village_code, school_id,
               registered_children, other_children, family_members, others, NULL::uuid AS programme_id
          FROM activities a
         WHERE a.held_on >= $6 AND a.held_on <= $7 AND a.recorded_at < $5 AND {_IN_SCOPE.format(t='a')}
           AND ($2::text IS NULL OR a.school_id = $2)
        UNION ALL
        SELECT 'support', support_id, given_on, NULL, child_id, kind, amount_fen, duplicate_of, township_code,
               village_code, school_id, NULL, NULL, NULL, NULL, programme_id
          FROM support_given s
         WHERE s.given_on >= $6 AND s.given_on <= $7 AND s.recorded_at < $5 AND {_IN_SCOPE.format(t='s')}
           AND ($2::text IS NULL OR s.school_id = $2)) entries
     ORDER BY on_day, entry, entry_id {_PAGE}"""


async def ledger_rows(conn: asyncpg.Connection, kind: str, prefix: str, school: str | None, window: Window,
                      *, offset: int = 0, limit: int | None = None) -> list[asyncpg.Record]:
    """The rows of one ledger, in its order, from `offset` (at most `limit`)."""
    page = (prefix, school, offset, limit, window.known_before)
    if kind == "children":
        return await conn.fetch(_CHILDREN, *page, window.as_of)
    if kind == "pairings":
        return await conn.fetch(_PAIRINGS, *page, window.period.start, window.period.end)
    if kind == "contacts":
        return await conn.fetch(_CONTACTS, *page, window.start_at, window.end_at)
    if kind == "concerns":
        return await conn.fetch(_CONCERNS, *page, window.start_at, window.end_at)
    if kind == "support":
        return await conn.fetch(_SUPPORT, *page, window.period.start, window.period.end)
    raise ValueError(kind)

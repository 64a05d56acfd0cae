"""SQL for the work summary's counts. Each query answers for a scope (a division code
prefix, optionally one school), a window (services.reports.domain.Window) and what was
recorded before the as-of date ended, grouped by township with a total row."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, get_args

import asyncpg

from services.reports.domain import Window
from shared.contracts.events import ContactKind

# $1 is always the scope's division prefix and $2 the school (or NULL).
_IN_SCOPE = "coalesce({t}.village_code, {t}.township_code) LIKE $1 || '%' AND ($2::text IS NULL OR {t}.school_id = $2)"
_GROUPED = "GROUP BY GROUPING SETS ((), (township_code))"

Counts = dict[str | None, dict[str, Any]]  # township code (None: the whole scope) → counts


def _merge(into: Counts, rows: list[asyncpg.Record]) -> None:
    for row in rows:
        township = None if row["total_row"] else row["township_code"]
        into[township].update({key: value for key, value in row.items() if key not in ("township_code", "total_row")})


async def first_day(conn: asyncpg.Connection, zone: str) -> date | None:
    """The first day anything was recorded: no figure exists before it."""
    return await conn.fetchval(
        """SELECT (least((SELECT min(effective_at) FROM child_versions), (SELECT min(occurred_at) FROM contacts),
                         (SELECT min(recorded_at) FROM pairings)) AT TIME ZONE $1)::date""", zone)


async def allow_large_counts(conn: asyncpg.Connection) -> None:
    """For the caller's transaction: memory enough to hash a county's year of contacts and
    duties (some 10 MB per worker for 20,000 children) rather than sort them on disk."""
    await conn.execute("SET LOCAL work_mem = '32MB'")


async def summary_counts(conn: asyncpg.Connection, prefix: str, school: str | None, window: Window,
                         zone: str) -> Counts:
    counts: Counts = defaultdict(dict)
    args = (prefix, school)
    _merge(counts, await conn.fetch(
        f"""WITH latest AS (
                SELECT DISTINCT ON (child_id) child_id, township_code, village_code, school_id, status, priority
                  FROM child_versions WHERE effective_at < $3 ORDER BY child_id, record_version DESC),
            on_register AS (
                SELECT l.*, EXISTS (
                    SELECT 1 FROM pairings p WHERE p.child_id = l.child_id AND p.recorded_at < $3
                       AND p.started_on <= $4
                       AND (p.ended_on IS NULL OR p.ended_on > $4 OR p.ended_recorded_at >= $3)) AS paired
                  FROM latest l WHERE l.status <> 'closed' AND {_IN_SCOPE.format(t='l')})
            SELECT township_code, GROUPING(township_code) = 1 AS total_row, count(*) AS children_registered,
                   count(*) FILTER (WHERE paired) AS children_paired,
                   count(*) FILTER (WHERE priority) AS priority_registered,
                   count(*) FILTER (WHERE priority AND paired) AS priority_paired
              FROM on_register {_GROUPED}""", *args, window.known_before, window.as_of))
    _merge(counts, await conn.fetch(
        f"""WITH moves AS (
                SELECT v.township_code, v.event_type FROM child_versions v
                 WHERE v.effective_at >= $3 AND v.effective_at < least($4::timestamptz, $5::timestamptz)
                   AND {_IN_SCOPE.format(t='v')}
                   AND v.event_type IN ('ChildRegistered', 'ChildClosed')
                UNION ALL
                SELECT v.township_code, 'in' FROM child_versions v
                 WHERE v.event_type = 'ChildTransferred'
                   AND v.effective_at >= $3 AND v.effective_at < least($4::timestamptz, $5::timestamptz)
                   AND {_IN_SCOPE.format(t='v')}
                   AND NOT (coalesce(v.from_village_code, v.from_township_code) LIKE $1 || '%'
                            AND ($2::text IS NULL OR v.from_school_id = $2))
                UNION ALL
                SELECT v.from_township_code, 'out' FROM child_versions v
                 WHERE v.event_type = 'ChildTransferred'
                   AND v.effective_at >= $3 AND v.effective_at < least($4::timestamptz, $5::timestamptz)
                   AND coalesce(v.from_village_code, v.from_township_code) LIKE $1 || '%'
                   AND ($2::text IS NULL OR v.from_school_id = $2)
                   AND NOT ({_IN_SCOPE.format(t='v')}))
            SELECT township_code, GROUPING(township_code) = 1 AS total_row,
                   count(*) FILTER (WHERE event_type = 'ChildRegistered') AS newly_registered,
                   count(*) FILTER (WHERE event_type = 'ChildClosed') AS closed,
                   count(*) FILTER (WHERE event_type = 'in') AS transferred_in,
                   count(*) FILTER (WHERE event_type = 'out') AS transferred_out
              FROM moves {_GROUPED}""", *args, window.start_at, window.end_at, window.known_before))
    _merge(counts, await conn.fetch(
        f"""SELECT township_code, GROUPING(township_code) = 1 AS total_row,
                   count(*) FILTER (WHERE started_on BETWEEN $3 AND $4) AS pairs_formed,
                   count(*) FILTER (WHERE ended_on BETWEEN $3 AND $4 AND ended_recorded_at < $5) AS pairs_ended
              FROM pairings p
             WHERE p.recorded_at < $5 AND (p.started_on BETWEEN $3 AND $4 OR p.ended_on BETWEEN $3 AND $4)
               AND {_IN_SCOPE.format(t='p')}
             {_GROUPED}""", *args, window.period.start, window.period.end, window.known_before))
    # One pass over the period's contacts, grouped by (township, child, caregiver), which
    # PostgreSQL shares out among parallel workers; the kinds are summed and the people
    # counted from those groups (some 20,000 for a year of a 20,000-child county) instead
    # of from every contact again.
    _merge(counts, await conn.fetch(
        f"""WITH per AS (
                SELECT township_code, child_id, caregiver_id,
                       {", ".join(f"count(*) FILTER (WHERE kind = '{kind}') AS {kind}" for kind in _CONTACT_KINDS)}
                  FROM contacts c
                 WHERE c.occurred_at >= $3 AND c.occurred_at < $4 AND c.recorded_at < $5
                   AND coalesce(c.village_code, c.township_code) LIKE $1 || '%'
                   AND ($2::text IS NULL OR child_school_at(c.child_id, c.occurred_at) = $2)
                 GROUP BY township_code, child_id, caregiver_id)
            SELECT township_code, GROUPING(township_code) = 1 AS total_row,
                   {", ".join(f"coalesce(sum({kind}), 0)::bigint AS {kind}" for kind in _CONTACT_KINDS)},
                   count(DISTINCT child_id) AS children_contacted,
                   count(DISTINCT caregiver_id) AS caregivers_taking_part
              FROM per {_GROUPED}""",
        *args, window.start_at, window.end_at, window.known_before))
    _merge(counts, await conn.fetch(
        f"""SELECT township_code, GROUPING(township_code) = 1 AS total_row, count(*) AS concerns_raised,
                   count(*) FILTER (WHERE mandatory_report) AS mandatory_reports
              FROM concerns c
             WHERE c.raised_at >= $3 AND c.raised_at < least($4::timestamptz, $5::timestamptz)
               AND coalesce(c.village_code, c.township_code) LIKE $1 || '%'
               AND ($2::text IS NULL OR child_school_at(c.child_id, c.raised_at) = $2)
             {_GROUPED}""", *args, window.start_at, window.end_at, window.known_before))
    _merge(counts, await conn.fetch(
        f"""SELECT township_code, GROUPING(township_code) = 1 AS total_row, count(*) AS activities_held,
                   coalesce(sum(registered_children + other_children + family_members + others), 0)
                       AS activity_attendance
              FROM activities a
             WHERE a.held_on BETWEEN $3 AND $4 AND a.recorded_at < $5 AND {_IN_SCOPE.format(t='a')}
             {_GROUPED}""", *args, window.period.start, window.period.end, window.known_before))
    _merge(counts, await conn.fetch(
        f"""SELECT township_code, GROUPING(township_code) = 1 AS total_row, count(*) AS family_notes
              FROM family_notes_sent f
             WHERE f.sent_at >= $3 AND f.sent_at < least($4::timestamptz, $5::timestamptz)
               AND {_IN_SCOPE.format(t='f')}
             {_GROUPED}""", *args, window.start_at, window.end_at, window.known_before))
    # Concern cases: open at the period's end (the state each stood in then, as known on the
    # as-of date; 'raised' while none was entered), and closed within the period.
    _merge(counts, await conn.fetch(
        f"""WITH at_end AS (
                SELECT c.township_code, coalesce(s.state, 'raised') AS state
                  FROM concerns c
                  LEFT JOIN LATERAL (SELECT state FROM concern_states s
                                      WHERE s.concern_id = c.concern_id AND s.changed_at < $3 AND s.recorded_at < $4
                                      ORDER BY s.changed_at DESC LIMIT 1) s ON true
                 WHERE c.raised_at < least($3::timestamptz, $4::timestamptz)
                   AND coalesce(c.village_code, c.township_code) LIKE $1 || '%'
                   AND ($2::text IS NULL OR child_school_at(c.child_id, c.raised_at) = $2))
            SELECT township_code, GROUPING(township_code) = 1 AS total_row,
                   count(*) FILTER (WHERE state <> 'closed') AS cases_open
              FROM at_end {_GROUPED}""", *args, window.end_at, window.known_before))
    _merge(counts, await conn.fetch(
        f"""SELECT township_code, GROUPING(township_code) = 1 AS total_row,
                   count(DISTINCT c.concern_id) AS cases_closed
              FROM concern_states s JOIN concerns c ON c.concern_id = s.concern_id
             WHERE s.state = 'closed' AND s.changed_at >= $3 AND s.changed_at < $4 AND s.recorded_at < $5
               AND coalesce(c.village_code, c.township_code) LIKE $1 || '%'
               AND ($2::text IS NULL OR child_school_at(c.child_id, c.raised_at) = $2)
             {_GROUPED}""", *args, window.start_at, window.end_at, window.known_before))
    # Aid under pairing's aid programmes (as aid_by_programme lists it), where the child lived.
    _merge(counts, await conn.fetch(
        f"""SELECT township_code, GROUPING(township_code) = 1 AS total_row,
                   count(DISTINCT child_id) AS aid_children, coalesce(sum(amount_fen), 0)::bigint AS aid_amount_fen
              FROM support_given a
             WHERE a.programme_id IS NOT NULL AND a.given_on BETWEEN $3 AND $4 AND a.recorded_at < $5
               AND {_IN_SCOPE.format(t='a')}
             {_GROUPED}""", *args, window.period.start, window.period.end, window.known_before))
    return counts


async def duty_counts(conn: asyncpg.Connection, prefix: str, school: str | None, window: Window,
                      zone: str) -> Counts:
    """The duties' counts, apart from `summary_counts`: the two costliest scans (a county's
    year of contacts, of duties) can then run at the same time on two connections."""
    counts: Counts = defaultdict(dict)
    args = (prefix, school)
    # Counted by township first (a plain GROUP BY, which parallel workers share), the
    # county's total summed from those rows.
    _merge(counts, await conn.fetch(
        f"""WITH due AS (
                SELECT d.township_code, count(*) AS duties_due,
                       count(*) FILTER (WHERE d.fulfilled_at < $5
                                          AND (d.fulfilled_at AT TIME ZONE $7)::date <= d.due_on) AS duties_on_time,
                       count(*) FILTER (WHERE d.fulfilled_at < $5
                                          AND (d.fulfilled_at AT TIME ZONE $7)::date > d.due_on) AS duties_late,
                       count(*) FILTER (WHERE (d.fulfilled_at < $5) IS NOT TRUE AND d.due_on < $6) AS duties_overdue,
                       {_CASEWORK_DUTY_COUNTS}
                  FROM duties d
                 WHERE d.due_on BETWEEN $3 AND $4 AND d.scheduled_at < $5
                   AND (d.cancelled_at IS NULL OR d.cancelled_at >= $5) AND {_IN_SCOPE.format(t='d')}
                 GROUP BY d.township_code)
            SELECT township_code, GROUPING(township_code) = 1 AS total_row,
                   sum(duties_due)::bigint AS duties_due, sum(duties_on_time)::bigint AS duties_on_time,
                   sum(duties_late)::bigint AS duties_late, sum(duties_overdue)::bigint AS duties_overdue,
                   {", ".join(f"sum({name}{end})::bigint AS {name}{end}"
                              for _, name in _CASEWORK_DUTIES for end in ("_due", "_on_time"))}
              FROM due {_GROUPED}""",
        *args, window.period.start, window.period.end, window.known_before, window.as_of, zone))
    return counts


async def activities_by_type(conn: asyncpg.Connection, prefix: str, school: str | None,
                             window: Window) -> dict[str, int]:
    """Activities held in the period by type (the county's vocabulary codes)."""
    rows = await conn.fetch(
        f"""SELECT activity_type, count(*) AS n FROM activities a
             WHERE a.held_on BETWEEN $3 AND $4 AND a.recorded_at < $5 AND {_IN_SCOPE.format(t='a')}
             GROUP BY activity_type ORDER BY activity_type""",
        prefix, school, window.period.start, window.period.end, window.known_before)
    return {row["activity_type"]: row["n"] for row in rows}


async def aid_by_programme(conn: asyncpg.Connection, prefix: str, school: str | None,
                           window: Window) -> list[dict[str, Any]]:
    """Aid given in the period under each of pairing's aid programmes (资助项目): children
    and amount, where the children lived when given; most children first. Each programme
    named by the latest name its SupportRecorded carried as known on the as-of date (NULL
    when only events from before the name was published are known)."""
    rows = await conn.fetch(
        f"""WITH given AS (
                SELECT programme_id, count(DISTINCT child_id) AS children, count(*) AS records,
                       sum(amount_fen) AS amount_fen FROM support_given a
                 WHERE a.programme_id IS NOT NULL AND a.given_on BETWEEN $3 AND $4 AND a.recorded_at < $5
                   AND {_IN_SCOPE.format(t='a')}
                 GROUP BY programme_id)
            SELECT g.*, (SELECT n.programme_name FROM support_given n
                          WHERE n.programme_id = g.programme_id AND n.programme_name IS NOT NULL
                            AND n.recorded_at < $5
                          ORDER BY n.recorded_at DESC LIMIT 1) AS programme_name
              FROM given g ORDER BY children DESC, programme_id""",
        prefix, school, window.period.start, window.period.end, window.known_before)
    return [{"programme_id": str(row["programme_id"]), "programme_name": row["programme_name"],
             "children": row["children"], "records": row["records"], "amount_fen": int(row["amount_fen"])}
            for row in rows]


_CONTACT_KINDS: tuple[str, ...] = get_args(ContactKind)
# The duty kinds of casework that are figures of their own: (duty kind, figure prefix), each
# due and on time (as duties_on_time counts them), among the duties' counts.
_CASEWORK_DUTIES = (("plan_review", "plan_reviews"), ("follow_up", "follow_ups"))
_CASEWORK_DUTY_COUNTS = ",\n".join(
    f"count(*) FILTER (WHERE d.duty_kind = '{kind}') AS {name}_due, "
    f"count(*) FILTER (WHERE d.duty_kind = '{kind}' AND d.fulfilled_at < $5 "
    f"AND (d.fulfilled_at AT TIME ZONE $7)::date <= d.due_on) AS {name}_on_time" for kind, name in _CASEWORK_DUTIES)


async def expected_counts(conn: asyncpg.Connection, known_before: Any) -> list[asyncpg.Record]:
    """Each township's and school's expected count in force at `known_before`."""
    return await conn.fetch(
        """SELECT DISTINCT ON (kind, code) kind, code, township_code, expected FROM expected_counts
            WHERE effective_at < $1 ORDER BY kind, code, effective_at DESC""", known_before)


async def activity_attendance_by_type(conn: asyncpg.Connection, prefix: str, school: str | None,
                                      window: Window) -> dict[str, int]:
    """Everyone who came to the period's activities (children of the registry, other
    children, family members, others), by type."""
    rows = await conn.fetch(
        f"""SELECT activity_type, sum(registered_children + other_children + family_members + others) AS n
              FROM activities a
             WHERE a.held_on BETWEEN $3 AND $4 AND a.recorded_at < $5 AND {_IN_SCOPE.format(t='a')}
             GROUP BY activity_type ORDER BY activity_type""",
        prefix, school, window.period.start, window.period.end, window.known_before)
    return {row["activity_type"]: row["n"] for row in rows}


async def cases_by_state(conn: asyncpg.Connection, prefix: str, school: str | None,
                         window: Window) -> dict[str, int]:
    """Concerns raised before the period ended, by the state their case stood in at its end
    ('raised' while none was entered): how many are still waiting for a referral, an
    agency, a follow-up, and how many were closed."""
    rows = await conn.fetch(
        """SELECT coalesce(s.state, 'raised') AS state, count(*) AS n
              FROM concerns c
              LEFT JOIN LATERAL (SELECT state FROM concern_states s
                                  WHERE s.concern_id = c.concern_id AND s.changed_at < $3 AND s.recorded_at < $4
                                  ORDER BY s.changed_at DESC LIMIT 1) s ON true
             WHERE c.raised_at < least($3::timestamptz, $4::timestamptz)
               AND coalesce(c.village_code, c.township_code) LIKE $1 || '%'
               AND ($2::text IS NULL OR child_school_at(c.child_id, c.raised_at) = $2)
             GROUP BY 1 ORDER BY 1""",
        prefix, school, window.end_at, window.known_before)
    return {row["state"]: row["n"] for row in rows}


async def duties_by_kind(conn: asyncpg.Connection, prefix: str, school: str | None, window: Window,
                         zone: str) -> dict[str, dict[str, int]]:
    """The period's duties by kind (as the duties' figures count them): plan reviews and
    follow-ups done on time, duties owed by a caregiver's kind among the talks."""
    rows = await conn.fetch(
        f"""SELECT d.duty_kind, count(*) AS due,
                   count(*) FILTER (WHERE d.fulfilled_at < $5
                                      AND (d.fulfilled_at AT TIME ZONE $7)::date <= d.due_on) AS on_time,
                   count(*) FILTER (WHERE d.fulfilled_at < $5
                                      AND (d.fulfilled_at AT TIME ZONE $7)::date > d.due_on) AS late,
                   count(*) FILTER (WHERE (d.fulfilled_at < $5) IS NOT TRUE AND d.due_on < $6) AS overdue
              FROM duties d
             WHERE d.due_on BETWEEN $3 AND $4 AND d.scheduled_at < $5
               AND (d.cancelled_at IS NULL OR d.cancelled_at >= $5) AND {_IN_SCOPE.format(t='d')}
             GROUP BY d.duty_kind ORDER BY d.duty_kind""",
        prefix, school, window.period.start, window.period.end, window.known_before, window.as_of, zone)
    return {row["duty_kind"]: {key: row[key] for key in ("due", "on_time", "late", "overdue")} for row in rows}

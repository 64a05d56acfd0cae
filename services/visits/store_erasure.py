"""Visits' part of a child's erasure (ChildErased: the county's retention period for the
record ended). What visits wrote about the child in words or pictures goes; what statistics
count stays (a contact's kind, day, caregiver and place codes; a concern's category,
severity and states; a plan's kind and state; attendance):

- contacts: location, notes, follow-ups and the free-text place cleared, the village cleared;
  their photos deleted;
- concerns: detail, acknowledgement and closure notes cleared, the agencies' case numbers
  cleared, the case notes deleted;
- plans: title anonymised, goals and result note cleared, the plan notes deleted.

Each statement is idempotent: a second erasure clears nothing more."""

from __future__ import annotations

from uuid import UUID

import asyncpg

ANONYMISED = "（已匿名）"


def _count(status: str) -> int:
    return int(status.split()[-1])


async def erase_child(conn: asyncpg.Connection, child_id: UUID) -> dict[str, int]:
    counts = {}
    counts["contact_photos"] = _count(await conn.execute(
        "DELETE FROM contact_photos WHERE contact_id IN (SELECT id FROM contacts WHERE child_id = $1)", child_id))
    counts["contacts"] = _count(await conn.execute(
        """UPDATE contacts SET location_enc = NULL, notes_enc = NULL, follow_ups_enc = NULL, place = NULL,
                               village_code = NULL
            WHERE child_id = $1 AND (location_enc IS NOT NULL OR notes_enc IS NOT NULL OR follow_ups_enc IS NOT NULL
                                     OR place IS NOT NULL OR village_code IS NOT NULL)""", child_id))
    counts["concern_notes"] = _count(await conn.execute(
        "DELETE FROM concern_notes WHERE concern_id IN (SELECT id FROM concerns WHERE child_id = $1)", child_id))
    counts["concern_referrals"] = _count(await conn.execute(
        """UPDATE concern_referrals SET case_number = NULL
            WHERE concern_id IN (SELECT id FROM concerns WHERE child_id = $1) AND case_number IS NOT NULL""",
        child_id))
    counts["concerns"] = _count(await conn.execute(
        """UPDATE concerns SET detail_enc = NULL, ack_note_enc = NULL, closure_note_enc = NULL, village_code = NULL
            WHERE child_id = $1 AND (detail_enc IS NOT NULL OR ack_note_enc IS NOT NULL
                                     OR closure_note_enc IS NOT NULL OR village_code IS NOT NULL)""", child_id))
    counts["plan_notes"] = _count(await conn.execute(
        "DELETE FROM plan_notes WHERE plan_id IN (SELECT id FROM plans WHERE child_id = $1)", child_id))
    counts["plans"] = _count(await conn.execute(
        """UPDATE plans SET title = $2, goals_enc = NULL, result_note_enc = NULL, village_code = NULL
            WHERE child_id = $1 AND (title <> $2 OR goals_enc IS NOT NULL OR result_note_enc IS NOT NULL
                                     OR village_code IS NOT NULL)""", child_id, ANONYMISED))
    return counts

"""A follow-up written on a contact with a due date is its caregiver's follow_up duty
(reminded before the date, escalated after it); the caregiver, or staff whose jurisdiction
holds the child, marks it done here."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request

from services.visits import store_duties, store_follow_ups
from services.visits.api_duties import DutyOut, duty_out
from services.visits.domain_duties import duty_event
from shared.contracts import DutyFulfilled
from shared.routes import Caller, caregiver_of, is_staff
from shared.rules import Refusal, RuleViolation

router = APIRouter(prefix="/v1", tags=["duties"])


@router.post("/duties/{duty_id}/completion", response_model=DutyOut,
             responses={404: {"description": "no such follow-up (for you)"},
                        409: {"description": "done already, or no longer owed"}})
async def complete_follow_up(duty_id: UUID, request: Request, principal: Caller) -> DutyOut:
    """Marks a follow_up duty done (other duties are met by contacts or plan reviews)."""
    settings = request.app.state.settings
    now, today = settings.clock.now(), settings.clock.today()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await store_follow_ups.follow_up_duty_for_update(conn, duty_id)
        mine = row is not None and caregiver_of(principal) == row["caregiver_id"]
        staff = row is not None and is_staff(principal) and principal.covers(
            row["village_code"] or row["township_code"]) and principal.covers_school(row["school_id"])
        if row is None or not (mine or staff):
            raise Refusal(404, "not_found", "no such follow-up")
        duty = await store_follow_ups.mark_done(conn, duty_id, by=principal.subject, at=now)
        if duty is None:
            raise RuleViolation("duty_id", "this follow-up is done already or no longer owed", status_code=409)
        await store_duties.add_events(conn, [duty_event(DutyFulfilled, duty, contact_id=duty["fulfilled_by"],
                                                        fulfilled_at=duty["fulfilled_at"])])
        answer = await store_follow_ups.get_duty(conn, duty_id)
    return duty_out(answer, today, settings.due_soon_days)

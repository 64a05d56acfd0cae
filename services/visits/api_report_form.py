"""The 强制报告登记表 of a concern, as a PDF for the agency it is referred to."""

from __future__ import annotations

import asyncio
from uuid import UUID

from fastapi import APIRouter, Request, Response

from services.visits import report_form, store_cases, store_concerns
from services.visits.encrypted_columns import CONCERN_CASE_NOTE, CONCERN_CLOSURE_NOTE, CONCERN_DETAIL
from shared import audit
from shared.purpose import StatedPurpose, clear_purpose
from services.visits.domain import CONCERN_HANDLERS
from shared.routes import Caller, require_roles
from shared.rules import Refusal

router = APIRouter(prefix="/v1", tags=["concerns"])


@router.get("/concerns/{concern_id}/report-form.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the form, A4"}})
async def report_form_pdf(concern_id: UUID, request: Request,
                          principal: Caller,
                          stated: StatedPurpose = None) -> Response:
    """The form holds the nature of the concern, its detail and notes: township or county
    staff with view_sensitive who state why (X-Purpose), and each print is audited."""
    require_roles(principal, *CONCERN_HANDLERS)
    purpose = clear_purpose(stated, principal)
    if purpose is None:
        raise Refusal(403, "forbidden",
                      "the form holds sensitive fields: view_sensitive and a stated purpose (X-Purpose) are needed")
    settings = request.app.state.settings
    cipher = request.app.state.cipher
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await store_concerns.get_concern(conn, concern_id, principal.scope_prefix,
                                               school_id=principal.school_scope)
        if row is None:
            raise Refusal(404, "not_found", "no such concern")
        referrals = await store_cases.referrals(conn, concern_id)
        notes = await store_cases.all_notes(conn, concern_id)
        kind = await store_cases.contact_kind(conn, row["contact_id"])
        await audit.record_principal_read(conn, principal, action="print_report_form", record_kind="concern",
                                          record_ids=[concern_id], fields={"category", "detail", "notes", "outcome"},
                                          purpose=purpose)
    facts = report_form.FormFacts(
        concern=row, contact_kind=kind, referrals=list(referrals), zone=settings.clock.zone,
        printed_on=settings.clock.today(),
        detail=cipher.decrypt(row["detail_enc"], context=CONCERN_DETAIL.context(concern_id)) if row["detail_enc"]
        else None,
        closing_note=cipher.decrypt(row["closure_note_enc"], context=CONCERN_CLOSURE_NOTE.context(concern_id))
        if row["closure_note_enc"] else None,
        notes=[(n["noted_on"], cipher.decrypt(n["note_enc"], context=CONCERN_CASE_NOTE.context(n["id"])))
               for n in notes])
    content = await asyncio.to_thread(report_form.render, facts)
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="mandatory-report-{concern_id.hex[:8]}.pdf"',
        "Cache-Control": "no-store"})

"""The summary's wording template: county staff read it and replace it with their own
(`GET`/`PUT /v1/summary/template`); the DOCX and the PDF are written with it."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import ConfigDict, Field

from services.reports import commands, store_templates
from services.reports.summary_template import DEFAULT_SECTIONS, PLACEHOLDERS, unknown_placeholders
from shared.clean_text import CleanInput, MultiLineText
from shared.routes import Caller, require_staff
from shared.rules import Refusal

router = APIRouter(prefix="/v1", tags=["summary"])

_SHOWN = re.compile(r"^[a-z_.]{1,40}$")  # a placeholder's name is named in the error; other text never


def _reason(name: str) -> str:
    if name in ("{", "}"):
        return "a brace without its pair"
    return f"unknown placeholder {{{name}}}" if _SHOWN.match(name) else "unknown placeholder"


def county_of(code: str) -> str:
    return code[:6] + "000000"


class SectionIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    heading: str = Field(min_length=1, max_length=60)
    text: MultiLineText = Field(min_length=1, max_length=2000)


class TemplateIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    scope_code: str = Field(pattern=r"^\d{6}000000$", description="the county whose summaries use this wording")
    sections: list[SectionIn] = Field(min_length=1, max_length=20)


async def sections_for(conn: asyncpg.Connection, code: str) -> list[tuple[str, str]]:
    """The wording in force for a scope: its county's template, else the built-in one."""
    row = await store_templates.template_of(conn, county_of(code))
    if row is None:
        return list(DEFAULT_SECTIONS)
    return [(section["heading"], section["text"]) for section in json.loads(row["sections"])]


def _answer(county_code: str, row: asyncpg.Record | None) -> dict[str, Any]:
    sections = (json.loads(row["sections"]) if row is not None
                else [{"heading": heading, "text": text} for heading, text in DEFAULT_SECTIONS])
    return {"scope_code": county_code, "sections": sections, "placeholders": list(PLACEHOLDERS),
            "custom": row is not None, "updated_by": row["updated_by"] if row else None,
            "updated_at": row["updated_at"].isoformat() if row else None, "version": row["version"] if row else 0}


@router.get("/summary/template")
async def get_template(request: Request, principal: Caller,
                       scope: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None) -> dict[str, Any]:
    """The wording the county's summaries are written in, and the placeholders it may use."""
    require_staff(principal)
    county = county_of(commands.resolve_scope(principal, scope).code)
    async with request.app.state.pool.acquire() as conn:
        return _answer(county, await store_templates.template_of(conn, county))


@router.put("/summary/template")
async def set_template(body: TemplateIn, request: Request, principal: Caller) -> dict[str, Any]:
    """County staff (or an admin) replace their county's wording. A placeholder that is not
    one of `placeholders` is refused (422 naming the section's field and the placeholder)."""
    if not principal.has_role("admin", "county_staff"):
        raise Refusal(403, "forbidden", "county staff only")
    if not principal.covers(body.scope_code):
        raise Refusal(403, "forbidden", "the scope is outside your jurisdiction")
    errors = [{"field": f"body.sections.{index}.{field}", "reason": _reason(name)}
              for index, section in enumerate(body.sections) for field in ("heading", "text")
              for name in unknown_placeholders(getattr(section, field))]
    if errors:
        raise HTTPException(422, errors)
    sections = [section.model_dump() for section in body.sections]
    async with request.app.state.pool.acquire() as conn:
        row = await store_templates.set_template(conn, county_code=body.scope_code, sections=sections,
                                                 updated_by=principal.subject)
    return _answer(body.scope_code, row)

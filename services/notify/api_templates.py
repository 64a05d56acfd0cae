"""Template routes: list, save (variables checked, 422 naming an unknown one), preview."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, Field

from services.notify import store, store_admin
from shared.routes import Caller, STAFF_ROLES, require_roles
from services.notify.domain_templates import (
    SAMPLE_VARIABLES, TEMPLATE_CHANNELS, TEMPLATE_VARIABLES, TemplateError, check_template, pick_template, render,
)
from services.notify.api_models import Preview, StoredTemplate, TemplateOut
from shared.pagination import Page, Paging
from shared.rules import RuleViolation
from shared.conditional import IfMatch, etag, put_precondition
from shared.clean_text import CleanInput, MultiLineText

router = APIRouter(prefix="/v1", tags=["templates"])

Locale = Literal["zh-CN", "en"]
TemplateChannel = Literal[TEMPLATE_CHANNELS]  # type: ignore[valid-type]


class TemplateIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, max_length=200)
    body: MultiLineText = Field(min_length=1, max_length=2000)


class PreviewIn(CleanInput):
    model_config = ConfigDict(extra="forbid")

    template_key: str = Field(max_length=64)
    locale: Locale = "zh-CN"
    channel: TemplateChannel = "default"
    subject: str | None = Field(default=None, max_length=200, description="a draft; the stored one when omitted")
    body: MultiLineText | None = Field(default=None, max_length=2000, description="a draft; the stored one when omitted")
    variables: dict[str, str] | None = Field(default=None, description="values to try; samples when omitted")


def _raise(exc: TemplateError) -> None:
    raise RuleViolation(f"body.{exc.field}", exc.reason) from exc


@router.get("/templates", response_model=Page[TemplateOut])
async def list_templates(request: Request, principal: Caller,
                         page: Paging) -> dict[str, Any]:
    require_roles(principal, *STAFF_ROLES)
    async with request.app.state.pool.acquire() as conn:
        rows = await store_admin.list_templates(conn)
    return page.of_sequence(
        [{**dict(row), "variables": sorted(TEMPLATE_VARIABLES.get(row["template_key"], ()))} for row in rows])


@router.put("/templates/{template_key}/{locale}/{channel}", response_model=StoredTemplate)
async def put_template(request: Request, response: Response, template_key: str, locale: Locale,
                       channel: TemplateChannel, body: TemplateIn,
                       principal: Caller,
                       if_match: IfMatch = None) -> dict[str, Any]:
    """Saves a template after checking its variables and wording (If-Match for updates)."""
    require_roles(principal, "admin")
    if template_key not in TEMPLATE_VARIABLES:
        raise RuleViolation("path.template_key", "unknown template")
    try:
        check_template(template_key, body.subject, body.body)
    except TemplateError as exc:
        _raise(exc)
    async with request.app.state.pool.acquire() as conn:
        async with conn.transaction():
            row = await store_admin.put_template(conn, template_key, locale, channel, body.subject, body.body,
                                                 put_precondition(if_match))
    response.headers["ETag"] = etag(row["version"])
    return dict(row)


@router.post("/templates/preview", response_model=Preview)
async def preview(request: Request, body: PreviewIn,
                  principal: Caller) -> dict[str, Any]:
    """Renders a stored template or a draft with sample (or given) values; nothing is saved."""
    require_roles(principal, *STAFF_ROLES)
    if body.template_key not in TEMPLATE_VARIABLES:
        raise RuleViolation("body.template_key", "unknown template")
    allowed = TEMPLATE_VARIABLES[body.template_key]
    unknown = sorted(set(body.variables or {}) - allowed)
    if unknown:
        raise RuleViolation("body.variables", f"unknown variable '{unknown[0]}'")
    used_locale = body.locale
    if body.body is not None:
        try:
            check_template(body.template_key, body.subject, body.body)
        except TemplateError as exc:
            _raise(exc)
        subject, text = body.subject or "", body.body
    else:
        async with request.app.state.pool.acquire() as conn:
            found = await store.templates_for(conn, [body.template_key])
        chosen = pick_template(found.get(body.template_key, {}), body.locale, body.channel)
        if chosen is None:
            raise RuleViolation("body.template_key", "no stored template for this key")
        subject, text, used_locale = chosen.subject or "", chosen.body, chosen.locale
    values = {name: SAMPLE_VARIABLES.get(name, "") for name in allowed}
    values.update(body.variables or {})
    return {"template_key": body.template_key, "locale": used_locale, "channel": body.channel,
            "subject": render(subject, values, used_locale), "text": render(text, values, used_locale)}

"""One error body for every service: RFC 9457 `application/problem+json`.

`{"type", "title", "status", "detail"}` and, when fields are at fault, `errors:
[{"field", "reason"}]` (an uploaded sheet's faults also carry `row` and `column`). A
refusal by a domain rule may add a machine-readable `code` and a few numbers (a capacity,
a version). The rejected input is never echoed: it may be a child's personal data.
`install(app)` registers every handler in one place."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, Iterable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.rules import Refusal, RuleViolation

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:shouhu:problem:"
# Where a field named by a rule lives in the request; a bare name is a body field.
FIELD_PLACES = ("body.", "header.", "query.", "path.", "cookie.")


class FieldError(BaseModel):
    field: str = Field(description="where the fault is: body.<path>, query.<name>, header.<name>, path.<name>")
    reason: str = Field(description="why it is refused (the value itself is never repeated)")
    row: int | None = Field(default=None, description="an uploaded sheet's row at fault (its own row number)")
    column: str | None = Field(default=None, description="that row's column at fault, by its header (身份证号, 姓名 …)")


class Problem(BaseModel):
    """RFC 9457 problem details. Extension members (`code`, and numbers such as a
    capacity or the current version) appear on some refusals."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    type: str = Field(description="a URI naming the kind of problem; about:blank when the status says it all")
    title: str = Field(description="short, the same for every occurrence of this type")
    status: int = Field(ge=400, le=599)
    detail: str | None = Field(default=None, description="this occurrence, in words")
    errors: list[FieldError] | None = Field(default=None, description="the fields at fault (validation)")
    code: str | None = Field(default=None, description="machine-readable reason of a refusal")


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(status: int, detail: str | None = None, *, errors: Iterable[dict[str, Any]] | None = None,
            code: str | None = None, headers: dict[str, str] | None = None,
            extra: Mapping[str, Any] | None = None) -> ProblemResponse:
    body: dict[str, Any] = {"type": f"{TYPE_PREFIX}{code}" if code else "about:blank",
                            "title": _title(status), "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = list(errors)
    if code:
        body["code"] = code
    body.update(extra or {})
    return ProblemResponse(body, status_code=status, headers=headers)


def field_name(field: str) -> str:
    return field if field.startswith(FIELD_PLACES) else f"body.{field}"


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Field and reason only: pydantic's `input` and `ctx` may hold the rejected value."""
    return [{"field": ".".join(str(part) for part in error.get("loc", ())) or "body",
             "reason": error.get("msg", "invalid")} for error in exc.errors()]


async def _on_validation_error(_request: Request, exc: RequestValidationError) -> ProblemResponse:
    return problem(422, "the request has invalid fields", errors=validation_errors(exc))


async def _on_rule_violation(_request: Request, exc: RuleViolation) -> ProblemResponse:
    return problem(exc.status_code, exc.reason,
                   errors=[{"field": field_name(exc.field), "reason": exc.reason}])


async def _on_refusal(_request: Request, exc: Refusal) -> ProblemResponse:
    return problem(exc.status, exc.message, code=exc.reason, extra=exc.extra)


_FIELD_LIST_KEYS = {"field", "reason"}


async def _on_http_exception(_request: Request, exc: StarletteHTTPException) -> ProblemResponse:
    headers = dict(exc.headers) if exc.headers else None
    detail = exc.detail
    if isinstance(detail, list) and all(isinstance(item, dict) and _FIELD_LIST_KEYS <= item.keys() for item in detail):
        errors = [{"field": field_name(str(item["field"])), "reason": str(item["reason"]),
                   **{key: item[key] for key in ("row", "column") if item.get(key) is not None}} for item in detail]
        return problem(exc.status_code, errors[0]["reason"] if len(errors) == 1 else None,
                       errors=errors, headers=headers)
    if isinstance(detail, str) and detail != _title(exc.status_code):
        return problem(exc.status_code, detail, headers=headers)
    return problem(exc.status_code, headers=headers)


async def _on_unexpected_error(_request: Request, exc: Exception) -> ProblemResponse:
    # Starlette re-raises it after this answer, so the traceback reaches the (scrubbed) log;
    # the client learns nothing of the internals.
    return problem(500, "internal error")


_SAFE_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")


def safe_parameter_name(name: str) -> str:
    """A parameter name fit to repeat in an error: short and plain, else just `?`."""
    return name if _SAFE_NAME.fullmatch(name) else "?"


def install(app: FastAPI) -> None:
    """Every error a service answers goes through one of these; nothing else writes an
    error body."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(RuleViolation, _on_rule_violation)  # type: ignore[arg-type]
    app.add_exception_handler(Refusal, _on_refusal)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected_error)

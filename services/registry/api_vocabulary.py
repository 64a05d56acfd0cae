"""`GET /v1/vocabulary`: every coded value with its Chinese label and the words sheets may
use for it, so that screens and other systems show 双亲外出, not both_parents_away. And the
registry's 422 answers in the words a clerk reads (Chinese, English beside it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from services.registry import vocabulary
from services.registry.models_out import Vocabularies
from shared.problems import problem, validation_errors
from shared.routes import Caller

router = APIRouter(prefix="/v1", tags=["vocabulary"])


@router.get("/vocabulary", response_model=Vocabularies)
async def read_vocabulary(_principal: Caller) -> JSONResponse:
    return JSONResponse({"vocabularies": [words.as_json() for words in vocabulary.ALL]})


# pydantic's error types → what a clerk reads. The English stays beside the Chinese.
_REASONS = {
    "missing": "必填",
    "extra_forbidden": "不认识的字段，请删除",
    "string_too_long": "内容太长",
    "string_too_short": "不能为空",
    "string_pattern_mismatch": "格式不对",
    "int_parsing": "应为整数",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "bool_parsing": "应为 是/否（true/false）",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "too_long": "项目太多",
    "uuid_parsing": "编号格式不对",
}


def _chinese(error: dict[str, Any]) -> str:
    kind, english = error.get("type", ""), error.get("reason", "")
    if kind == "literal_error":
        labels = "、".join(vocabulary.label_of_any(code) for code in error.get("expected", ()))
        return f"不是可选值之一：{labels} / {english}"
    if " / " in english:
        return english  # already ours (validators raise "中文 / English")
    return f"{_REASONS.get(kind, '内容不对')} / {english}"


async def on_validation_error(_request: Request, exc: RequestValidationError) -> Response:
    """The shared 422 problem body (field and reason, never the value), its reasons in Chinese."""
    errors = validation_errors(exc)
    for error, raw in zip(errors, exc.errors()):
        expected = (raw.get("ctx") or {}).get("expected", "")
        codes = [part.strip().strip("'") for part in str(expected).replace(" or ", ",").split(",") if part.strip()]
        error["reason"] = _chinese({**error, "type": raw.get("type", ""), "expected": codes})
    return problem(422, "请求中有不正确的内容 / the request has invalid fields", errors=errors)

"""Every error a service answers is one RFC 9457 problem+json body, whatever raised it,
and never repeats the rejected input."""

from __future__ import annotations

from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from shared.conditional import IfMatch, expected_version, stale
from shared.http import create_service_app
from shared.rules import Refusal, RuleViolation
from shared.settings import ServiceSettings

SECRET = "110101201001011234"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    national_id: str = Field(pattern=r"^\d{17}[\dX]$")


def _router() -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.post("/things")
    async def create(body: Body) -> dict[str, str]:
        return {"ok": "yes"}

    @router.get("/rule")
    async def rule() -> None:
        raise RuleViolation("birth_date", "is in the future")

    @router.get("/refusal")
    async def refusal() -> None:
        raise Refusal(409, "over_capacity", "no free place", load=3, capacity=3)

    @router.get("/missing")
    async def missing() -> None:
        raise HTTPException(404, "no such child")

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError(f"database said: {SECRET}")

    @router.get("/filtered")
    async def filtered(school_id: Annotated[str | None, Query()] = None) -> dict[str, str | None]:
        return {"school_id": school_id}

    @router.put("/versioned")
    async def versioned(if_match: IfMatch = None) -> dict[str, int]:
        version = expected_version(if_match)
        if version != 2:
            raise stale(2)
        return {"version": 3}

    return router


@pytest.fixture
async def client():
    app = create_service_app(ServiceSettings(service_name="probe"), title="t", description="d", routers=[_router()])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as http:
        yield http


def _problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


async def test_validation_names_field_and_reason_without_the_value(client) -> None:
    response = await client.post("/v1/things", json={"national_id": SECRET + "x", "extra": SECRET})
    body = _problem(response, 422)
    assert {e["field"] for e in body["errors"]} == {"body.national_id", "body.extra"}
    assert all(e["reason"] for e in body["errors"]) and SECRET not in response.text


async def test_rule_violation_refusal_and_http_exception(client) -> None:
    rule = _problem(await client.get("/v1/rule"), 422)
    assert rule["errors"] == [{"field": "body.birth_date", "reason": "is in the future"}]
    refusal = _problem(await client.get("/v1/refusal"), 409)
    assert refusal["code"] == "over_capacity" and refusal["type"].endswith("over_capacity")
    assert refusal["load"] == 3 and refusal["capacity"] == 3 and refusal["detail"] == "no free place"
    missing = _problem(await client.get("/v1/missing"), 404)
    assert missing["detail"] == "no such child" and missing["type"] == "about:blank"
    unknown_path = _problem(await client.get("/v1/nowhere"), 404)
    assert "errors" not in unknown_path


async def test_an_unexpected_error_says_nothing_of_its_cause(client) -> None:
    response = await client.get("/v1/crash")
    body = _problem(response, 500)
    assert body["detail"] == "internal error" and SECRET not in response.text and "database" not in response.text


async def test_an_unknown_query_parameter_is_refused_naming_it(client) -> None:
    assert (await client.get("/v1/filtered", params={"school_id": "s1"})).json() == {"school_id": "s1"}
    body = _problem(await client.get("/v1/filtered", params={"schoolid": "s1"}), 422)
    assert body["errors"] == [{"field": "query.schoolid", "reason": "unknown query parameter"}]
    odd = _problem(await client.get("/v1/filtered", params={SECRET + "<>": "1"}), 422)
    assert odd["errors"][0]["field"] == "query.?" and SECRET not in str(odd)


async def test_if_match_missing_stale_malformed(client) -> None:
    assert _problem(await client.put("/v1/versioned"), 428)["errors"][0]["field"] == "header.If-Match"
    stale_answer = _problem(await client.put("/v1/versioned", headers={"If-Match": '"1"'}), 412)
    assert stale_answer["code"] == "stale_version" and stale_answer["version"] == 2
    assert _problem(await client.put("/v1/versioned", headers={"If-Match": "abc"}), 422)
    for accepted in ('"2"', 'W/"2"', "2"):
        assert (await client.put("/v1/versioned", headers={"If-Match": accepted})).json() == {"version": 3}

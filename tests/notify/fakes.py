"""Real servers on 127.0.0.1 standing in for providers outside the system: an HTTP server
(SMS gateway, robots, webhooks, pairing's / registry's contact endpoints, a token endpoint)
and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.processes import free_port
from tests.support.waiting import wait_for


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeHttp:
    """Records every request; answers with `responder(request) -> (status, json)`, default 200 {}."""

    responder: Callable[[Recorded], tuple[int, Any]] | None = None
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""

    async def _handle(self, request: Request) -> Response:
        recorded = Recorded(request.method, request.url.path, request.url.query,
                            {k.lower(): v for k, v in request.headers.items()}, await request.body())
        self.requests.append(recorded)
        status, body = self.responder(recorded) if self.responder else (200, {})
        return JSONResponse(body, status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT"])])

    def to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]


@asynccontextmanager
async def serving(fake: FakeHttp) -> AsyncIterator[FakeHttp]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="error",
                                           log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # it failed to start: raise its error
        return server.started

    await wait_for(started, timeout=10, interval=0.01, what="the fake provider to listen")
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        await task


class SmtpSink:
    """aiosmtpd's Controller (its own thread), collecting messages as they arrive."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.port = free_port()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 OK"

    def __enter__(self) -> "SmtpSink":
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._controller.stop()

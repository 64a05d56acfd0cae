"""One access log line per API request: method, route template, status, actor, latency and
request id. Never the path as sent, a query string, a header value or a body: those can carry
personal data (a name searched for, an ID number in a mistyped URL). Uvicorn's own access
log stays off (it logs the raw path and query).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import get_logger
from shared.request_context import actor_var, new_request_id, request_id_var

_log = get_logger("shouhu.access")
_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})  # probes every few seconds: noise


class AccessLogMiddleware:
    """Pure ASGI middleware (no task switch, so the context variables the route sets are
    visible here afterwards)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        offered = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = new_request_id(offered)
        request_token = request_id_var.set(request_id)
        actor_token = actor_var.set(None)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            template = getattr(scope.get("route"), "path", None) or "unmatched"
            if template not in _QUIET:
                actor = actor_var.get()
                _log.info("request", method=scope["method"], route=template, status=status["code"],
                          actor=actor.subject if actor else None,
                          latency_ms=round((time.perf_counter() - started) * 1000, 1), request_id=request_id)
            actor_var.reset(actor_token)
            request_id_var.reset(request_token)

"""Prometheus metrics, one registry per process (created by the app, never at import).

Request metrics are labelled by route template (/v1/children/{child_id}), never by the
raw path, so no id or personal data reaches a metric label.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Receive, Scope, Send


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("shouhu_http_requests_total", "HTTP requests", ["service", "method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("shouhu_http_request_seconds", "HTTP request latency", ["service", "method", "route"],
                                 registry=self.registry)
        self.outbox_pending = Gauge("shouhu_outbox_pending", "Unpublished outbox events", ["service"],
                                    registry=self.registry)
        self.outbox_age = Gauge("shouhu_outbox_oldest_age_seconds", "Age of the oldest unpublished event",
                                ["service"], registry=self.registry)
        self.consumer_lag = Gauge("shouhu_consumer_lag_messages", "Messages behind, all consumers", ["service"],
                                  registry=self.registry)
        self.dead_letters = Gauge("shouhu_dead_letters_open", "Open dead letters", ["service", "kind"],
                                  registry=self.registry)
        self.service = service


class MetricsMiddleware:
    """Pure ASGI middleware: counts and times every HTTP request by route template."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            labels = (self._metrics.service, scope["method"], template)
            self._metrics.requests.labels(*labels, str(status_holder["status"])).inc()
            self._metrics.latency.labels(*labels).observe(time.perf_counter() - started)


class MetricsPortSplit:
    """With a metrics port, /metrics answers there and nowhere else, and nothing else answers
    there: Prometheus's port never serves the API, the API's port never serves metrics."""

    def __init__(self, app: ASGIApp, metrics_port: int) -> None:
        self._app = app
        self._metrics_port = metrics_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            local_port = (scope.get("server") or ("", None))[1]
            if (local_port == self._metrics_port) != (scope["path"] == "/metrics"):
                await send({"type": "http.response.start", "status": 404,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": b'{"detail":"not found"}'})
                return
        await self._app(scope, receive, send)

"""What every service's HTTP app has: lifespan-owned pool and clients, /healthz,
/readyz, /metrics, one error body (problem+json, `shared.problems`), unknown query
parameters refused, and an OpenAPI document that declares all of it (`shared.openapi`)."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Literal

import asyncpg
from aiokafka.client import AIOKafkaClient
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared import openapi, problems
from shared.access_log import AccessLogMiddleware
from shared.history_api import history_router
from shared.auth import TokenVerifier
from shared.auth_cache import CachingTokenVerifier
from shared.clean_text import clean_request
from shared.db import create_pool
from shared.kafka_security import kafka_security
from shared.lag import progress_report
from shared.metrics import MetricsMiddleware, MetricsPortSplit, ServiceMetrics
from shared.outbox import pending_age_seconds, pending_count
from shared.routing import reject_unknown_query_parameters
from shared.settings import ServiceSettings


class KafkaProbe:
    """Answers "is Kafka reachable?" for /readyz, at most once per `cache_s` seconds."""

    def __init__(self, settings: ServiceSettings, cache_s: float = 5.0) -> None:
        self._settings = settings
        self._cache_s = cache_s
        self._checked_at = -cache_s
        self._ok = False

    def create_client(self) -> AIOKafkaClient:
        return AIOKafkaClient(bootstrap_servers=self._settings.kafka_bootstrap_servers,
                              **kafka_security(self._settings),
                              request_timeout_ms=3000, client_id=f"shouhu-{self._settings.service_name}-probe")

    async def reachable(self) -> bool:
        if time.monotonic() - self._checked_at < self._cache_s:
            return self._ok
        client = None
        try:
            client = self.create_client()
            await asyncio.wait_for(client.bootstrap(), 4.0)
            self._ok = True
        except Exception:
            self._ok = False
        finally:
            if client is not None:
                await client.close()
        self._checked_at = time.monotonic()
        return self._ok


async def _on_overload(_request: Request, exc: Exception) -> Response:
    # A bounded wait ran out (pool acquire, statement timeout) or the database is away: the
    # outcome is unknown to the client, who may retry (with the same Idempotency-Key).
    return problems.problem(503, "temporarily unavailable, retry later", headers={"Retry-After": "2"})


# The database or its pool is away: refused or reset connections, a connection closed or
# terminated under the request, "cannot connect now" while PostgreSQL starts or stops,
# admin shutdown. Nothing the client sent is wrong; the same request (with the same
# Idempotency-Key) will work when the database is back.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,  # ConnectionRefusedError, ConnectionResetError, TimeoutError, unreachable host
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, ConnectionFailureError, ...
    asyncpg.exceptions.OperatorInterventionError,  # CannotConnectNow, AdminShutdown, QueryCanceled
    asyncpg.exceptions.TooManyConnectionsError,
    # These two only with the messages below (a connection that died under the request);
    # any other is a bug and stays a 500.
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)
_UNAVAILABLE_MESSAGES = ("connection is closed", "pool is closing", "pool is closed", "connection was closed",
                         "another operation is in progress", "cannot switch to state")


def add_database_unavailable_handler(app: FastAPI) -> None:
    """503 with Retry-After (the overload answer), never a 500, for a request that failed
    because the database or its pool is unavailable."""

    async def unavailable(request: Request, exc: Exception) -> Response:
        if isinstance(exc, (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError)) and not any(
                text in str(exc) for text in _UNAVAILABLE_MESSAGES):
            return problems.problem(500, "internal error")
        return await _on_overload(request, exc)

    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, unavailable)


def _install_error_handlers(app: FastAPI) -> None:
    """The one place where a service's exception handlers are registered."""
    problems.install(app)
    for overload in (asyncio.TimeoutError, asyncpg.exceptions.QueryCanceledError,
                     asyncpg.PostgresConnectionError, asyncpg.exceptions.TooManyConnectionsError):
        app.add_exception_handler(overload, _on_overload)
    add_database_unavailable_handler(app)


def create_service_app(settings: ServiceSettings, *, title: str, description: str,
                       routers: list[APIRouter],
                       on_startup: Callable[[FastAPI], Any] | None = None,
                       on_shutdown: Callable[[FastAPI], Any] | None = None) -> FastAPI:
    """Builds a service's FastAPI app. Nothing connects until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.pool = await create_pool(settings)
        # Verified tokens are trusted again for up to a minute (never past their expiry):
        # checking a JWT costs as much CPU as the rest of a typical request.
        app.state.token_verifier = CachingTokenVerifier(TokenVerifier(settings.auth))
        app.state.kafka_probe = KafkaProbe(settings)
        if on_startup is not None:
            await on_startup(app)
        try:
            yield
        finally:
            if on_shutdown is not None:
                await on_shutdown(app)
            await app.state.pool.close()

    # The document and its pages are served by shared.openapi (complete, and without a CDN).
    # Every query, path and header value of every route passes the one clean-text rule.
    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None, dependencies=[Depends(clean_request)])
    metrics = ServiceMetrics(settings.service_name)
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(AccessLogMiddleware)
    if settings.metrics_port is not None:
        app.add_middleware(MetricsPortSplit, metrics_port=settings.metrics_port)
    _install_error_handlers(app)
    app.include_router(_operations_router())
    for router in [*routers, history_router()]:
        app.include_router(router, dependencies=[Depends(reject_unknown_query_parameters)])
    openapi.install(app)
    return app


async def backlog(conn: asyncpg.Connection, *, stale_after_s: float) -> dict[str, Any]:
    """The figures /readyz, /metrics and `shouhu status` report. The outbox's are counted
    now; the consumers' are as old as their `reported_s_ago` (shared/lag.py)."""
    dead = await conn.fetch("SELECT kind, count(*) AS n FROM dead_letters WHERE status = 'open' GROUP BY kind")
    return {
        "outbox_pending": await pending_count(conn),
        "outbox_oldest_age_s": round(await pending_age_seconds(conn), 3),
        **await progress_report(conn, stale_after_s=stale_after_s),
        "dead_letters_open": {row["kind"]: row["n"] for row in dead},
    }


async def _backlog(pool: asyncpg.Pool, settings: ServiceSettings, timeout_s: float) -> dict[str, Any]:
    async with pool.acquire(timeout=timeout_s) as conn:
        return await backlog(conn, stale_after_s=settings.progress_stale_after_s)


class ConsumerFigures(BaseModel):
    lag: int = Field(description="messages behind, summed over the consumer's partitions")
    reported_s_ago: float = Field(description="seconds since a worker last reported this consumer")
    state: Literal["ok", "stalled"] = Field(description='"stalled": no report for longer than the limit')


class Readiness(BaseModel):
    service: str
    status: Literal["ready", "degraded", "not_ready"]
    database: str = Field(description='"ok" or "unreachable: <error type>"')
    kafka: Literal["ok", "unreachable"]
    outbox_pending: int | None = None
    outbox_oldest_age_s: float | None = None
    consumer_lag: int | None = Field(
        default=None, description="total messages behind; null unless every consumer reported recently")
    consumer_lag_reported_s_ago: float | None = Field(
        default=None, description="age of the oldest consumer figure, in seconds")
    workers: Literal["ok", "stalled", "never_reported"] | None = Field(
        default=None, description="whether the worker reports its consumers' progress")
    consumers: dict[str, ConsumerFigures] | None = None
    dead_letters_open: dict[str, int] | None = None


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Alive: the process answers. Says nothing about its dependencies."""
        return {"status": "ok"}

    @router.get("/readyz", response_class=JSONResponse, responses={
        200: {"model": Readiness, "description": "ready (or degraded: Kafka away, writes wait in the outbox)"},
        503: {"model": Readiness, "description": "not ready: the database does not answer"}})
    async def readyz(request: Request) -> JSONResponse:
        """Ready when the database answers: every write goes to the database, its events to
        the outbox, so an API without Kafka still serves and loses nothing (the relay sends
        them when Kafka is back). Taking the APIs out of service during a Kafka outage
        would turn it into a county-wide outage. The body reports Kafka ("degraded" when it
        is unreachable), the outbox's age and the consumers' lag, for dashboards."""
        state = request.app.state
        body: dict[str, Any] = {"service": state.settings.service_name}
        try:
            body.update(await asyncio.wait_for(_backlog(state.pool, state.settings, 2.0), 3.0))
            body["database"] = "ok"
        except Exception as exc:
            body["database"] = f"unreachable: {type(exc).__name__}"
        body["kafka"] = "ok" if await state.kafka_probe.reachable() else "unreachable"
        ready = body["database"] == "ok"
        body["status"] = ("ready" if body["kafka"] == "ok" else "degraded") if ready else "not_ready"
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics", response_class=PlainTextResponse, responses={
        200: {"description": "Prometheus text exposition format",
              "content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def metrics(request: Request) -> Response:
        state = request.app.state
        service_metrics: ServiceMetrics = state.metrics
        try:
            figures = await asyncio.wait_for(_backlog(state.pool, state.settings, 2.0), 3.0)
            name = service_metrics.service
            service_metrics.outbox_pending.labels(name).set(figures["outbox_pending"])
            service_metrics.outbox_age.labels(name).set(figures["outbox_oldest_age_s"])
            # Unknown (NaN) while a worker is not reporting: never a reassuring 0.
            lag = figures["consumer_lag"]
            service_metrics.consumer_lag.labels(name).set(float("nan") if lag is None else lag)
            for kind in ("poison", "waiting"):
                service_metrics.dead_letters.labels(name, kind).set(figures["dead_letters_open"].get(kind, 0))
            # A service's own gauges read from its database (app.state.refresh_metrics, optional).
            refresh = getattr(state, "refresh_metrics", None)
            if refresh is not None:
                await asyncio.wait_for(refresh(state), 3.0)
        except Exception:
            pass  # the request metrics are still worth serving when the database is away
        return Response(generate_latest(service_metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router

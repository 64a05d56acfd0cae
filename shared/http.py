"""What every service's HTTP app has: lifespan-owned pool and clients, /healthz,
/readyz, /metrics, and 422 bodies that name the field and never echo the input."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable

import asyncpg
from aiokafka.client import AIOKafkaClient
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.auth import TokenVerifier
from shared.auth_cache import CachingTokenVerifier
from shared.consumer import consumer_lag
from shared.db import create_pool
from shared.metrics import MetricsMiddleware, ServiceMetrics
from shared.outbox import pending_age_seconds, pending_count
from shared.settings import ServiceSettings


class KafkaProbe:
    """Answers "is Kafka reachable?" for /readyz, at most once per `cache_s` seconds."""

    def __init__(self, settings: ServiceSettings, cache_s: float = 5.0) -> None:
        self._settings = settings
        self._cache_s = cache_s
        self._checked_at = -cache_s
        self._ok = False

    async def reachable(self) -> bool:
        if time.monotonic() - self._checked_at < self._cache_s:
            return self._ok
        client = AIOKafkaClient(bootstrap_servers=self._settings.kafka_bootstrap_servers,
                                request_timeout_ms=3000, client_id=f"shouhu-{self._settings.service_name}-probe")
        try:
            await asyncio.wait_for(client.bootstrap(), 4.0)
            self._ok = True
        except Exception:
            self._ok = False
        finally:
            await client.close()
        self._checked_at = time.monotonic()
        return self._ok


def validation_error_body(exc: RequestValidationError) -> dict[str, Any]:
    """Field and reason only: the rejected input may be a child's personal data."""
    errors = []
    for error in exc.errors():
        errors.append({
            "field": ".".join(str(part) for part in error.get("loc", ())),
            "reason": error.get("msg", "invalid"),
            "type": error.get("type", "value_error"),
        })
    return {"detail": errors}


async def _on_unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the (scrubbed) log; the client learns nothing of the internals.
    return JSONResponse({"detail": "internal error"}, status_code=500)


async def _on_overload(_request: Request, exc: Exception) -> JSONResponse:
    # A bounded wait ran out (pool acquire, statement timeout) or the database is away: the
    # outcome is unknown to the client, who may retry (with the same Idempotency-Key).
    return JSONResponse({"detail": "temporarily unavailable, retry later"}, status_code=503,
                        headers={"Retry-After": "2"})


# The database or its pool is away: refused or reset connections, a connection closed or
# terminated under the request, "cannot connect now" while PostgreSQL starts or stops,
# admin shutdown. Nothing the client sent is wrong; the same request (with the same
# Idempotency-Key) will work when the database is back.
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
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
            return await _on_unexpected_error(request, exc)
        return await _on_overload(request, exc)

    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, unavailable)


async def _on_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(validation_error_body(exc), status_code=422)


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

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    metrics = ServiceMetrics(settings.service_name)
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    for overload in (asyncio.TimeoutError, asyncpg.exceptions.QueryCanceledError,
                     asyncpg.PostgresConnectionError, asyncpg.exceptions.TooManyConnectionsError):
        app.add_exception_handler(overload, _on_overload)
    add_database_unavailable_handler(app)
    app.add_exception_handler(Exception, _on_unexpected_error)
    app.include_router(_operations_router())
    for router in routers:
        app.include_router(router)
    return app


async def _backlog(pool: asyncpg.Pool, timeout_s: float) -> dict[str, Any]:
    async with pool.acquire(timeout=timeout_s) as conn:
        dead = await conn.fetch(
            "SELECT kind, count(*) AS n FROM dead_letters WHERE status = 'open' GROUP BY kind")
        return {
            "outbox_pending": await pending_count(conn),
            "outbox_oldest_age_s": round(await pending_age_seconds(conn), 3),
            "consumer_lag": await consumer_lag(conn),
            "dead_letters_open": {row["kind"]: row["n"] for row in dead},
        }


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Alive: the process answers. Says nothing about its dependencies."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """Ready when the database answers: every write goes to the database, its events to
        the outbox, so an API without Kafka still serves and loses nothing (the relay sends
        them when Kafka is back). Taking the APIs out of service during a Kafka outage
        would turn it into a county-wide outage. The body reports Kafka ("degraded" when it
        is unreachable), the outbox's age and the consumers' lag, for dashboards."""
        state = request.app.state
        body: dict[str, Any] = {"service": state.settings.service_name}
        try:
            body.update(await asyncio.wait_for(_backlog(state.pool, 2.0), 3.0))
            body["database"] = "ok"
        except Exception as exc:
            body["database"] = f"unreachable: {type(exc).__name__}"
        body["kafka"] = "ok" if await state.kafka_probe.reachable() else "unreachable"
        ready = body["database"] == "ok"
        body["status"] = ("ready" if body["kafka"] == "ok" else "degraded") if ready else "not_ready"
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        state = request.app.state
        service_metrics: ServiceMetrics = state.metrics
        try:
            backlog = await asyncio.wait_for(_backlog(state.pool, 2.0), 3.0)
            name = service_metrics.service
            service_metrics.outbox_pending.labels(name).set(backlog["outbox_pending"])
            service_metrics.outbox_age.labels(name).set(backlog["outbox_oldest_age_s"])
            service_metrics.consumer_lag.labels(name).set(backlog["consumer_lag"])
            for kind in ("poison", "waiting"):
                service_metrics.dead_letters.labels(name, kind).set(backlog["dead_letters_open"].get(kind, 0))
        except Exception:
            pass  # the request metrics are still worth serving when the database is away
        return Response(generate_latest(service_metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router

"""How a worker's loops outlive PostgreSQL and Kafka going away: which errors mean "a
dependency is unavailable", capped backoff, one log line per change of state (not one per
attempt), and a supervisor that restarts a loop that failed instead of ending the worker.
Only a configuration error (a wrong password, a database that does not exist) ends it."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Coroutine

import asyncpg
from aiokafka.errors import KafkaError

from shared.logging import get_logger

log = get_logger("shared.resilience")

# A dependency that is away or restarting: the work is retried, never blamed for it.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable; asyncio.TimeoutError is one too
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # cannot connect now, admin shutdown
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,  # "connection is closed" under the statement
    asyncpg.exceptions.InternalClientError,  # a protocol state left behind by a killed connection
    KafkaError,
)

# Retrying these never helps: the worker exits and says why.
CONFIGURATION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.InvalidAuthorizationSpecificationError,  # wrong role or password
    asyncpg.InvalidCatalogNameError,  # no such database
)


# Capped at 2 s: a dependency that is back must be noticed within seconds (the system has to
# converge within 30 s of its return, with the backlog of the outage; `make chaos` measures
# it), and an attempt is one cheap connection, logged only when the state changes.
def backoff_s(failures: int, *, base_s: float = 0.5, cap_s: float = 2.0) -> float:
    return float(min(base_s * 2.0 ** max(failures - 1, 0), cap_s))


class OutageLog:
    """Logs when something starts failing, when the cause changes and when it works again:
    a database away for an hour is three lines, not thousands."""

    def __init__(self, what: str, **context: Any) -> None:
        self._what = what
        self._context = context
        self.failures = 0
        self._cause: str | None = None
        self._since = 0.0

    def failed(self, exc: BaseException) -> float:
        """Records a failure; returns how long to wait before the next attempt."""
        cause = type(exc).__name__
        self.failures += 1
        if self.failures == 1:
            self._since = time.monotonic()
            log.warning(f"{self._what}.unavailable", error=cause, **self._context)
        elif cause != self._cause:
            log.warning(f"{self._what}.still_unavailable", error=cause, failures=self.failures, **self._context)
        self._cause = cause
        return backoff_s(self.failures)

    def ok(self) -> None:
        if self.failures:
            log.info(f"{self._what}.available_again", failures=self.failures,
                     after_s=round(time.monotonic() - self._since, 1), **self._context)
        self.failures = 0
        self._cause = None


async def retrying(what: str, attempt: Callable[[], Awaitable[Any]]) -> Any:
    """`attempt()` until it works (a worker starting while PostgreSQL or Kafka is away)."""
    outage = OutageLog(what)
    while True:
        try:
            result = await attempt()
        except CONFIGURATION_ERRORS:
            raise
        except UNAVAILABLE as exc:
            await asyncio.sleep(outage.failed(exc))
            continue
        outage.ok()
        return result


async def supervise(name: str, make_loop: Callable[[], Coroutine[Any, Any, None]], *,
                    healthy_after_s: float = 10.0) -> None:
    """Runs a loop for ever: one that fails is started again after a capped backoff. A loop
    that ran `healthy_after_s` without failing counts as recovered (logged once)."""
    outage = OutageLog("worker.loop", loop=name)
    while True:
        task = asyncio.create_task(make_loop(), name=name)
        try:
            done, _ = await asyncio.wait({task}, timeout=healthy_after_s if outage.failures else None)
            if not done:
                outage.ok()
                await asyncio.wait({task})
            task.result()
            return  # a loop that ends by itself is finished
        except CONFIGURATION_ERRORS:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await asyncio.sleep(outage.failed(exc))
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

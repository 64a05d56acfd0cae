"""`python -m services.<name> api|worker|migrate`: the three kinds of process a service runs."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

import uvicorn
from fastapi import FastAPI

from shared.logging import configure_logging, get_logger
from shared.migrations import migrate
from shared.reindex import BlindIndexColumn
from shared.rekey import EncryptedColumn
from shared.safety import check_startup
from shared.settings import ServiceSettings
from shared.worker import BackgroundFactory, ConsumerFactory, run_worker


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    load_settings: Callable[[], ServiceSettings]
    create_app: Callable[[ServiceSettings], FastAPI]
    build_consumers: ConsumerFactory
    migrations_dir: Path
    # Loops beside the relay and consumers in the worker process (schedulers, delivery).
    build_background: BackgroundFactory | None = None
    # Every column holding FieldCipher ciphertext, with its context: what `shouhu rekey` rewrites.
    encrypted_columns: tuple[EncryptedColumn, ...] = ()
    # Every blind-index column and the encrypted column it derives from: what `shouhu rekey`
    # recomputes after re-encrypting (needed when the index key or suite changes).
    blind_index_columns: tuple[BlindIndexColumn, ...] = ()
    # Reference data `migrate` loads after the SQL migrations (the registry's division
    # register: too large for a SQL file). Given the database URL; returns what it loaded.
    load_reference_data: Callable[[str], Awaitable[list[str]]] | None = None


async def migrate_service(entry: ServiceEntry, database_url: str) -> list[str]:
    """The SQL migrations, then the service's reference data: what `migrate` runs."""
    applied = await migrate(database_url, entry.name, entry.migrations_dir)
    if entry.load_reference_data is not None:
        applied += await entry.load_reference_data(database_url)
    return applied


def main(entry: ServiceEntry, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{entry.name}")
    parser.add_argument("role", choices=["api", "worker", "migrate"])
    args = parser.parse_args(argv)
    settings = entry.load_settings()
    configure_logging(entry.name, settings.log_level)
    log = get_logger("entrypoint")
    refused = check_startup(entry.name, args.role, settings, log, encrypts=bool(entry.encrypted_columns))
    if refused is not None:
        return refused
    if args.role == "migrate":
        applied = asyncio.run(migrate_service(entry, settings.database_url))
        log.info("migrate.done", applied=applied)
        return 0
    if args.role == "worker":
        asyncio.run(run_worker(settings, entry.build_consumers, entry.build_background))
        return 0
    server, sockets = api_server(entry.create_app(settings), settings)
    server.run(sockets=sockets)
    return 0


def api_server(app: FastAPI, settings: ServiceSettings) -> tuple[uvicorn.Server, list[socket.socket] | None]:
    """The api's server, and with a metrics port the two sockets it listens on (one server,
    one lifespan, one signal handler; the app tells the ports apart)."""
    config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port,
                            log_config=None, access_log=False, proxy_headers=True)
    if settings.metrics_port is None:
        return uvicorn.Server(config), None
    # log_config=None: a Config with uvicorn's default would re-configure its loggers and
    # take their tracebacks out of the scrubbed JSON log.
    metrics = uvicorn.Config(app, host=settings.http_host, port=settings.metrics_port, log_config=None)
    return uvicorn.Server(config), [config.bind_socket(), metrics.bind_socket()]


def run(entry: ServiceEntry) -> None:
    sys.exit(main(entry))

"""All four services, api and worker each, on real PostgreSQL and Kafka."""

from __future__ import annotations

from pathlib import Path

from shared.entrypoint import ServiceEntry
from tests.support.databases import create_migrated_database
from tests.support.infra import Infrastructure
from tests.support.processes import Service, ServiceProcess, free_port, service_env, wait_ready

SERVICE_NAMES = ("registry", "pairing", "visits", "notify")


def _entry(name: str) -> ServiceEntry:
    import importlib

    return importlib.import_module(f"services.{name}.entry").ENTRY


async def start_service(infra: Infrastructure, name: str, *, topic_prefix: str, log_dir: Path,
                        extra_env: dict[str, str] | None = None, database_url: str | None = None) -> Service:
    entry = _entry(name)
    database_url = database_url or await create_migrated_database(infra, name, entry.migrations_dir)
    port = free_port()
    env = service_env(name, database_url=database_url, port=port, kafka=infra.kafka_bootstrap,
                      topic_prefix=topic_prefix, group=f"{topic_prefix}{name}", extra=extra_env)
    service = Service(
        name=name, database_url=database_url, base_url=f"http://127.0.0.1:{port}",
        api=ServiceProcess(name, "api", env, log_dir / f"{name}-api.log"),
        worker=ServiceProcess(name, "worker", env, log_dir / f"{name}-worker.log"),
        env=env,
    )
    service.api.start()
    service.worker.start()
    return service


async def start_stack(infra: Infrastructure, log_dir: Path) -> dict[str, Service]:
    topic_prefix = infra.new_topic_prefix("e2e")
    services = {}
    for name in SERVICE_NAMES:
        # Notify asks the registry and pairing (started before it) for names and contact points.
        extra = {"SHOUHU_NOTIFY_REGISTRY_BASE_URL": services["registry"].base_url,
                 "SHOUHU_NOTIFY_PAIRING_BASE_URL": services["pairing"].base_url} if name == "notify" else None
        if name == "pairing":  # an aid sheet's 身份证号 is resolved by the registry
            extra = {"SHOUHU_PAIRING_REGISTRY_BASE_URL": services["registry"].base_url}
        services[name] = await start_service(infra, name, topic_prefix=topic_prefix, log_dir=log_dir,
                                             extra_env=extra)
    for service in services.values():
        await wait_ready(service)
    return services


def stop_stack(services: dict[str, Service]) -> None:
    for service in services.values():
        service.api.stop()
        service.worker.stop()

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_REGISTRY_", extra="ignore", populate_by_name=True)

    service_name: str = "registry"
    database_url: str = "postgresql://shouhu:shouhu@127.0.0.1:55432/shouhu_registry"
    http_port: int = 8001
    # Processes the worker prepares import batches in; unset: one more than the CPUs the
    # worker may use (each takes about 200 MB while an import runs).
    import_processes: int | None = Field(default=None, ge=0)


def load_settings() -> RegistrySettings:
    return RegistrySettings()

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_NOTIFY_", extra="ignore", populate_by_name=True)

    service_name: str = "notify"
    database_url: str = "postgresql://shouhu:shouhu@127.0.0.1:55432/shouhu_notify"
    http_port: int = 8004


def load_settings() -> NotifySettings:
    return NotifySettings()

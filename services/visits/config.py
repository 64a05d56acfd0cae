from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class VisitsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_VISITS_", extra="ignore", populate_by_name=True)

    service_name: str = "visits"
    database_url: str = "postgresql://shouhu:shouhu@127.0.0.1:55432/shouhu_visits"
    http_port: int = 8003


def load_settings() -> VisitsSettings:
    return VisitsSettings()

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReportsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_REPORTS_", extra="ignore", populate_by_name=True)

    service_name: str = "reports"
    database_url: str = "postgresql://shouhu:shouhu@127.0.0.1:55432/shouhu_reports"
    http_port: int = 8005
    # The county's name on the documents' title (the division code is always printed too).
    county_name: str = ""


def load_settings() -> ReportsSettings:
    return ReportsSettings()

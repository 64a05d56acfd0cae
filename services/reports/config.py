from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReportsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_REPORTS_", extra="ignore", populate_by_name=True)

    service_name: str = "reports"
    database_url: str = "postgresql://shouhu:shouhu@127.0.0.1:55432/shouhu_reports"
    http_port: int = 8005
    # The county's name on the documents' title (the division code is always printed too).
    county_name: str = ""
    # Where the division register's names are read (the documents name townships, not codes).
    registry_base_url: str = "http://127.0.0.1:8001"
    # Where a ledger's caregivers are named (the registry names children, places and schools).
    pairing_base_url: str = "http://127.0.0.1:8002"
    # Where a ledger's activity types are named, as the county configured them.
    visits_base_url: str = "http://127.0.0.1:8003"
    place_names_timeout_s: float = 5.0
    # The jurisdiction of the reports service's own token: the ledgers' names are read with it
    # (each ledger is confined to its requester's scope before any name is asked).
    service_jurisdiction: str = "000000000000"


def load_settings() -> ReportsSettings:
    return ReportsSettings()

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PairingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_PAIRING_", extra="ignore", populate_by_name=True)

    service_name: str = "pairing"
    database_url: str = "postgresql://shouhu:shouhu@127.0.0.1:55432/shouhu_pairing"
    http_port: int = 8002


def load_settings() -> PairingSettings:
    return PairingSettings()

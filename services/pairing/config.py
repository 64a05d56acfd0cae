from typing import Literal

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PairingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUHU_PAIRING_", extra="ignore", populate_by_name=True)

    service_name: str = "pairing"
    database_url: str = "postgresql://shouhu:shouhu@127.0.0.1:55432/shouhu_pairing"
    http_port: int = 8002

    # A second gift to one child from the same fund within this period is flagged.
    support_period: Literal["term", "half_year"] = "term"
    # Matching: candidates per child and level (school, village, township); see domain_matching.
    matching_candidates_per_level: int = 8
    # Aid distribution sheets that name children by 身份证号 or 姓名+出生日期: the registry says
    # which child each row is (registry_children.py), asked with pairing's own token.
    registry_base_url: str = "http://127.0.0.1:8001"
    registry_timeout_s: float = 20.0
    # The jurisdiction of pairing's own token (the whole country by default: each call is
    # narrowed in its body to the place of the staff member it is made for).
    service_jurisdiction: str = "000000000000"


def load_settings() -> PairingSettings:
    return PairingSettings()

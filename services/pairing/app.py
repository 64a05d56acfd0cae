from fastapi import FastAPI

from services.pairing import (
    api, api_aid, api_aid_lists, api_capacity, api_caregivers, api_matching, api_names, api_pairings, api_support,
)
from shared.crypto import CryptoSettings, FieldCipher
from shared.http import create_service_app
from shared.settings import ServiceSettings


async def _open_cipher(app: FastAPI) -> None:
    # Caregivers' names and contact points, and who gave support, are encrypted at rest.
    app.state.cipher = FieldCipher.from_settings(CryptoSettings())


def create_app(settings: ServiceSettings) -> FastAPI:
    return create_service_app(
        settings, title="Shouhu pairing",
        description="Caregivers and a caregiver paired with every child (结对帮扶); matching, support, coverage.",
        routers=[api.router, api_caregivers.router, api_capacity.router, api_pairings.router, api_matching.router,
                 api_support.router, api_names.router, api_aid.router,
                 api_aid_lists.router],
        on_startup=_open_cipher,
    )

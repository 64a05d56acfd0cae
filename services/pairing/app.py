import httpx
from fastapi import FastAPI

from services.pairing import (
    api, api_aid, api_aid_lists, api_capacity, api_caregivers, api_matching, api_names, api_pairings, api_support,
)
from services.pairing.config import PairingSettings
from services.pairing.registry_children import ChildResolver, HttpChildResolver
from shared.crypto import CryptoSettings, FieldCipher
from shared.http import create_service_app
from shared.logging import get_logger
from shared.service_auth import ServiceTokenProvider
from shared.settings import ServiceSettings

log = get_logger("pairing.app")


def create_app(settings: ServiceSettings, *, child_resolver: ChildResolver | None = None) -> FastAPI:
    """`child_resolver`: who says which child a sheet's 身份证号 or 姓名+出生日期 is (tests give
    one that calls an in-process registry); by default the registry over HTTP."""

    async def on_startup(app: FastAPI) -> None:
        # Caregivers' names and contact points, and who gave support, are encrypted at rest.
        app.state.cipher = FieldCipher.from_settings(CryptoSettings())
        app.state.registry_client = None
        app.state.child_resolver = child_resolver
        if child_resolver is None and isinstance(settings, PairingSettings):
            try:
                tokens = ServiceTokenProvider(settings.auth, service_name="pairing",
                                              jurisdiction=settings.service_jurisdiction)
            except ValueError:
                # OIDC without client credentials for pairing: sheets are read by 儿童编号 only.
                log.warning("pairing.child_resolver_without_credentials")
                return
            app.state.registry_client = httpx.AsyncClient(timeout=settings.registry_timeout_s)
            app.state.child_resolver = HttpChildResolver(app.state.registry_client, tokens,
                                                         registry_base_url=settings.registry_base_url)

    async def on_shutdown(app: FastAPI) -> None:
        if app.state.registry_client is not None:
            await app.state.registry_client.aclose()

    return create_service_app(
        settings, title="Shouhu pairing",
        description="Caregivers and a caregiver paired with every child (结对帮扶); matching, support, coverage.",
        routers=[api.router, api_caregivers.router, api_capacity.router, api_pairings.router, api_matching.router,
                 api_support.router, api_names.router, api_aid.router,
                 api_aid_lists.router],
        on_startup=on_startup, on_shutdown=on_shutdown,
    )

import httpx
from fastapi import FastAPI

from services.reports import api, api_assessment, api_ledgers, api_template
from services.reports.config import ReportsSettings
from services.reports.owner_names import HttpOwnerNames, OwnerNames
from services.reports.place_names import PlaceNames, RegistryPlaceNames
from shared.http import create_service_app
from shared.logging import get_logger
from shared.service_auth import ServiceTokenProvider
from shared.settings import ServiceSettings

log = get_logger("reports.app")


def create_app(settings: ServiceSettings, *, place_names: PlaceNames | None = None,
               owner_names: OwnerNames | None = None) -> FastAPI:
    async def on_startup(app: FastAPI) -> None:
        app.state.registry_client = None
        app.state.place_names = place_names
        app.state.owner_names = owner_names
        if place_names is None and isinstance(settings, ReportsSettings):
            try:
                tokens = ServiceTokenProvider(settings.auth, service_name="reports",
                                              jurisdiction=settings.service_jurisdiction)
            except ValueError:
                # OIDC without client credentials for reports: the documents print codes.
                log.warning("reports.place_names_without_credentials")
                return
            app.state.registry_client = httpx.AsyncClient(timeout=settings.place_names_timeout_s)
            app.state.place_names = RegistryPlaceNames(app.state.registry_client, tokens,
                                                       registry_base_url=settings.registry_base_url)
            if owner_names is None:
                app.state.owner_names = HttpOwnerNames(app.state.registry_client, tokens,
                                                       registry_base_url=settings.registry_base_url,
                                                       pairing_base_url=settings.pairing_base_url,
                                                       visits_base_url=settings.visits_base_url)

    async def on_shutdown(app: FastAPI) -> None:
        if app.state.registry_client is not None:
            await app.state.registry_client.aclose()

    return create_service_app(
        settings, title="Shouhu reports",
        description="The work summary (工作总结), the ledgers (台账) and the assessment (考核) for any period, as of any date, "
                    "from the events of every service.",
        routers=[api.router, api_assessment.router, api_template.router, api_ledgers.router],
        on_startup=on_startup, on_shutdown=on_shutdown,
    )

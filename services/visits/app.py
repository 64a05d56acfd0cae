from fastapi import FastAPI

from services.visits import (api, api_activities, api_admin, api_agencies, api_cases, api_concerns, api_duties,
                            api_follow_ups, api_homes, api_photos, api_plans, api_report_form, api_stats)
from shared.crypto import CryptoSettings, FieldCipher
from shared.http import create_service_app
from shared.settings import ServiceSettings


async def _on_startup(app: FastAPI) -> None:
    # Keys come from the environment or mounted files, never from the database.
    app.state.cipher = FieldCipher.from_settings(CryptoSettings())


def create_app(settings: ServiceSettings) -> FastAPI:
    return create_service_app(
        settings, title="Shouhu visits",
        description="Every contact with a child logged; duties scheduled, overdue detected, concerns escalated.",
        routers=[api.router, api_photos.router, api_duties.router, api_concerns.router, api_cases.router, api_agencies.router,
                 api_report_form.router, api_activities.router, api_homes.router,
                 api_plans.router, api_follow_ups.router,
                 api_stats.router, api_admin.router],
        on_startup=_on_startup,
    )

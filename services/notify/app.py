from fastapi import FastAPI

from services.notify.api import router
from shared.http import create_service_app
from shared.settings import ServiceSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    return create_service_app(
        settings, title="Shouhu notify",
        description="Reminders, escalations and alerts, each delivered once.",
        routers=[router],
    )

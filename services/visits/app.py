from fastapi import FastAPI

from services.visits.api import router
from shared.http import create_service_app
from shared.settings import ServiceSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    return create_service_app(
        settings, title="Shouhu visits",
        description="Every contact with a child logged; duties and concerns.",
        routers=[router],
    )

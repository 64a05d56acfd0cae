from fastapi import FastAPI

from services.registry.api import router
from shared.http import create_service_app
from shared.settings import ServiceSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    return create_service_app(
        settings, title="Shouhu registry",
        description="One record per child (一人一档): registration, records and their changes.",
        routers=[router],
    )

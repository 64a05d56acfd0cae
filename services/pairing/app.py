from fastapi import FastAPI

from services.pairing.api import router
from shared.http import create_service_app
from shared.settings import ServiceSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    return create_service_app(
        settings, title="Shouhu pairing",
        description="Caregivers and a caregiver paired with every child (结对帮扶).",
        routers=[router],
    )

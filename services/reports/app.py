from fastapi import FastAPI

from services.reports import api, api_assessment
from shared.http import create_service_app
from shared.settings import ServiceSettings


def create_app(settings: ServiceSettings) -> FastAPI:
    return create_service_app(
        settings, title="Shouhu reports",
        description="The work summary (工作总结) and the assessment (考核) for any period, as of any date, "
                    "from the events of every service.",
        routers=[api.router, api_assessment.router],
    )

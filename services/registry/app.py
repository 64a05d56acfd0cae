from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from services.registry import (
    api, api_card, api_caregivers, api_contact_points, api_divisions, api_grades, api_import_changes, api_imports,
    api_ledger, api_lists, api_mapping, api_resolve, api_retention, api_schools, api_stats, api_vocabulary,
)
from services.registry.division_cache import DivisionCache
from services.registry.upload_reader import UploadReader
from shared.crypto import CryptoSettings, FieldCipher
from shared.http import create_service_app
from shared.settings import ServiceSettings


async def _on_startup(app: FastAPI) -> None:
    # Keys come from settings or a mounted secret file, never from the database.
    app.state.cipher = FieldCipher.from_settings(CryptoSettings())
    app.state.upload_reader = UploadReader()
    app.state.divisions = DivisionCache()


async def _on_shutdown(app: FastAPI) -> None:
    app.state.upload_reader.close()


def create_app(settings: ServiceSettings) -> FastAPI:
    # api_lists first: its fixed paths (/children/search) must win over /children/{id}.
    app = create_service_app(
        settings, title="Shouhu registry",
        description="One record per child (一人一档): registration, records and their changes, "
                    "bulk import of the schools' sheets, statistics and completeness.",
        routers=[api_lists.router, api_grades.router, api.router, api_card.router, api_imports.router,
                 api_import_changes.router, api_mapping.router, api_schools.router, api_stats.router,
                 api_contact_points.router, api_ledger.router, api_resolve.router,
                 api_caregivers.router, api_vocabulary.router, api_divisions.router, api_retention.router],
        on_startup=_on_startup, on_shutdown=_on_shutdown,
    )
    app.add_exception_handler(RequestValidationError, api_vocabulary.on_validation_error)
    return app

"""Notify's HTTP app: the shared factory plus notify's routers; the lifespan adds the field
cipher and seeds the default rules and templates (never overwriting an admin's edits)."""

from fastapi import FastAPI

from services.notify import store
from services.notify.api import router as inbox_router
from services.notify.api_admin import router as admin_router
from services.notify.api_deliveries import router as deliveries_router
from services.notify.api_templates import router as templates_router
from services.notify.api_webhooks import router as webhooks_router
from shared.crypto import CryptoSettings, FieldCipher
from shared.http import create_service_app
from shared.settings import ServiceSettings


def create_app(settings: ServiceSettings, *, cipher: FieldCipher | None = None) -> FastAPI:
    async def on_startup(app: FastAPI) -> None:
        app.state.cipher = cipher or FieldCipher.from_settings(CryptoSettings())
        async with app.state.pool.acquire() as conn:
            await store.seed_defaults(conn)

    return create_service_app(
        settings, title="Shouhu notify",
        description="Reminders, escalations and alerts by SMS, email, WeCom/DingTalk, webhook and in-app, "
                    "each delivered once.",
        routers=[inbox_router, admin_router, webhooks_router, templates_router, deliveries_router],
        on_startup=on_startup,
    )

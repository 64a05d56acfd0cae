"""Notify's HTTP app: the shared factory plus notify's routers; the lifespan adds the field
cipher, the registry client that names children in the in-app inbox (with notify's own
service token), and seeds the default rules and templates (never overwriting an admin's edits)."""

from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import Gauge

from services.notify import store, store_held
from services.notify.api import router as inbox_router
from services.notify.api_admin import router as admin_router
from services.notify.api_roster import router as roster_router
from services.notify.api_deliveries import router as deliveries_router
from services.notify.api_family import router as family_router
from services.notify.api_family_replies import router as family_replies_router
from services.notify.api_setup import router as setup_router
from services.notify.api_templates import router as templates_router
from services.notify.api_webhooks import router as webhooks_router
from services.notify.config import NotifySettings
from services.notify.contacts import ContactSource, HttpContactSource
from shared.crypto import CryptoSettings, FieldCipher
from shared.http import create_service_app
from shared.service_auth import ServiceTokenProvider
from shared.settings import ServiceSettings


def create_app(settings: ServiceSettings, *, cipher: FieldCipher | None = None,
               contacts: ContactSource | None = None) -> FastAPI:
    async def on_startup(app: FastAPI) -> None:
        app.state.cipher = cipher or FieldCipher.from_settings(CryptoSettings())
        app.state.lookups = None
        app.state.contacts = contacts
        if contacts is None and isinstance(settings, NotifySettings):
            app.state.lookups = httpx.AsyncClient(timeout=settings.contact_fetch_timeout_s)
            tokens = ServiceTokenProvider(settings.auth, service_name="notify",
                                          jurisdiction=settings.service_jurisdiction)
            app.state.contacts = HttpContactSource(app.state.lookups, tokens,
                                                   pairing_base_url=settings.pairing_base_url,
                                                   registry_base_url=settings.registry_base_url)
        async with app.state.pool.acquire() as conn:
            await store.seed_defaults(conn)

    async def on_shutdown(app: FastAPI) -> None:
        if app.state.lookups is not None:
            await app.state.lookups.aclose()

    app = create_service_app(
        settings, title="Shouhu notify",
        description="Reminders, escalations and alerts by SMS, email, WeCom/DingTalk, webhook and in-app, "
                    "each delivered once.",
        routers=[inbox_router, admin_router, roster_router, webhooks_router, templates_router, deliveries_router, setup_router,
                 family_router, family_replies_router],
        on_startup=on_startup, on_shutdown=on_shutdown,
    )
    undeliverable = Gauge("shouhu_notify_undeliverable", "Messages waiting for a recipient (no_recipient) or a "
                          "provider (no_provider) to be configured", ["reason", "channel"],
                          registry=app.state.metrics.registry)

    async def refresh_metrics(state: Any) -> None:
        async with state.pool.acquire() as conn:
            counts = await store_held.undeliverable_counts(conn)
        undeliverable.clear()
        for row in counts:
            undeliverable.labels(row["reason"], row["channel"]).set(row["n"])

    app.state.refresh_metrics = refresh_metrics
    return app

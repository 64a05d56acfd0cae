"""How the notify service starts: its settings, app, consumers, delivery loop and migrations."""

from pathlib import Path

from services.notify.app import create_app
from services.notify.config import load_settings
from services.notify.encrypted_columns import ENCRYPTED_COLUMNS
from services.notify.worker import build_background, build_consumers
from shared.entrypoint import ServiceEntry

ENTRY = ServiceEntry(name="notify", load_settings=load_settings, create_app=create_app,
                     build_consumers=build_consumers, build_background=build_background,
                     migrations_dir=Path(__file__).parent / "migrations", encrypted_columns=ENCRYPTED_COLUMNS)

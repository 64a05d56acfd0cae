"""How the visits service starts: its settings, app, consumers, scheduler and migrations."""

from pathlib import Path

from services.visits.app import create_app
from services.visits.config import load_settings
from services.visits.encrypted_columns import ENCRYPTED_COLUMNS
from services.visits.worker import build_background, build_consumers
from shared.entrypoint import ServiceEntry

ENTRY = ServiceEntry(name="visits", load_settings=load_settings, create_app=create_app,
                     build_consumers=build_consumers, migrations_dir=Path(__file__).parent / "migrations",
                     build_background=build_background, encrypted_columns=ENCRYPTED_COLUMNS)

"""How the reports service starts: its settings, app, consumers and migrations."""

from pathlib import Path

from services.reports.app import create_app
from services.reports.config import load_settings
from services.reports.worker import build_consumers
from shared.entrypoint import ServiceEntry

ENTRY = ServiceEntry(name="reports", load_settings=load_settings, create_app=create_app,
                     build_consumers=build_consumers, migrations_dir=Path(__file__).parent / "migrations")

"""How the pairing service starts: its settings, app, consumers and migrations."""

from pathlib import Path

from services.pairing.app import create_app
from services.pairing.config import load_settings
from services.pairing.encrypted_columns import ENCRYPTED_COLUMNS
from services.pairing.worker import build_consumers
from shared.entrypoint import ServiceEntry

ENTRY = ServiceEntry(name="pairing", load_settings=load_settings, create_app=create_app,
                     build_consumers=build_consumers, migrations_dir=Path(__file__).parent / "migrations",
                     encrypted_columns=ENCRYPTED_COLUMNS)

"""How the registry service starts: its settings, app, consumers, background loops and migrations."""

from pathlib import Path

from services.registry.app import create_app
from services.registry.config import load_settings
from services.registry.encrypted_columns import BLIND_INDEX_COLUMNS, ENCRYPTED_COLUMNS
from services.registry.store_divisions import load_shipped_editions
from services.registry.worker import build_background, build_consumers
from shared.entrypoint import ServiceEntry

ENTRY = ServiceEntry(name="registry", load_settings=load_settings, create_app=create_app,
                     build_consumers=build_consumers, build_background=build_background,
                     migrations_dir=Path(__file__).parent / "migrations", encrypted_columns=ENCRYPTED_COLUMNS,
                     blind_index_columns=BLIND_INDEX_COLUMNS,
                     load_reference_data=load_shipped_editions)

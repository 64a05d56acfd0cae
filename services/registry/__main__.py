from services.registry.entry import ENTRY
from shared.entrypoint import run

run(ENTRY)

from services.pairing.entry import ENTRY
from shared.entrypoint import run

run(ENTRY)

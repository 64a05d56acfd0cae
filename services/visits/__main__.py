from services.visits.entry import ENTRY
from shared.entrypoint import run

run(ENTRY)

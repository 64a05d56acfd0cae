from services.notify.entry import ENTRY
from shared.entrypoint import run

run(ENTRY)

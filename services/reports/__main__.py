from services.reports.entry import ENTRY
from shared.entrypoint import run

run(ENTRY)

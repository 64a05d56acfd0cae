"""Reading uploads outside the api's event loop.

python-calamine holds the GIL while it parses a workbook (over half a second at a time for
a 100,000-row sheet), so reading an upload in a thread froze every other request of the
api meanwhile. Uploads are read in one worker process instead, started with the first
upload (not at import or app start: most api replicas never receive one).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from services.registry import sheets, stored_rows


@dataclass(frozen=True)
class ReadUpload:
    file_format: str
    rows_total: int
    stored_rows: bytes  # stored_rows.encode_stored_rows: what the import job works from
    mapping: dict[str, str]   # header as written → the column it is read as
    unmapped: list[str]       # headers read as no column ("F 备注")
    suggested: dict[str, str]  # unmapped header → the column its values look like
    headers: list[str]        # the header row as written
    missing: list[str]        # required columns only proposed


def read_upload(content: bytes, saved: dict[str, str] | None = None) -> ReadUpload:
    """Reads and checks an upload (raises SheetRejected), and encodes its rows for the job.
    Runs in the reading process; returns only what the api stores, not the parsed cells.
    `saved`: the county's confirmed column mapping."""
    sheet = sheets.read_sheet(content, saved=saved)
    return ReadUpload(sheet.file_format, sheet.total, stored_rows.encode_stored_rows(sheet), sheet.mapping(),
                      sheet.unmapped, sheet.suggested, sheet.headers, sheet.missing)


class UploadReader:
    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None

    async def read(self, content: bytes, saved: dict[str, str] | None = None) -> ReadUpload:
        if self._executor is None:
            # spawn: forking a process that runs an event loop and holds sockets is unsafe.
            self._executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, read_upload, content, saved)
        except BrokenProcessPool:
            # The file killed the reading process (memory, a parser crash): refuse it, and
            # start a fresh process for the next upload.
            self.close()
            raise sheets.SheetRejected("无法读取文件，可能已损坏 / the workbook cannot be read; it may be damaged") from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

"""Bulk import jobs, run by the registry's worker.

The api reads and checks the upload, stores the file and the rows it read in `import_jobs`
(so a job outlives an api restart, and the worker does not parse the file again) and
answers 202; a worker claims the job (FOR UPDATE SKIP LOCKED) and works through the sheet
in batches. Each batch is one transaction: good rows are COPYed into `children` (a national
ID already registered is skipped, so the same file twice creates no duplicates), their
ChildRegistered events go to the outbox, bad rows' errors are stored, and `rows_done`
advances — so progress is visible over the API and a worker that dies mid-job leaves a job
another worker resumes from the last batch.

The CPU work of a batch (`import_batches`) runs in worker processes (one more than CPUs, at
low priority), a few batches ahead of the commits, so that the worker's relay and
consumers keep their event loop and PostgreSQL and Python work at the same time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
from collections import deque
from dataclasses import replace
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, Callable
from uuid import UUID, uuid4

import asyncpg

from services.registry import sheets, store_imports, store_schools, stored_rows
from services.registry.schools import school_words
from services.registry.import_matches import JobRows, match_registered
from services.registry.division_cache import COUNTY_DIGITS, DivisionCache
from services.registry.divisions import DivisionRegister
from services.registry.import_batches import (
    PreparedBatch, prepare_batch, prepare_stored_batch, warm_up_process, yield_to_others,
)
from services.registry.sheets import SheetRejected
from shared import outbox
from shared.auth import scope_prefix
from shared.clock import Clock
from shared.crypto import FieldCipher
from shared.logging import get_logger
from shared.resilience import UNAVAILABLE, OutageLog

log = get_logger("registry.importer")



class ImportRunner:
    def __init__(self, pool: asyncpg.Pool, cipher: FieldCipher, *, batch_size: int = 2000,
                 stale_after_s: float = 60.0, poll_interval_s: float = 1.0, name: str | None = None,
                 processes: int = 0, clock: Clock | None = None) -> None:
        """`processes` > 0 prepares batches in that many worker processes (the registry
        worker uses `default_processes()`); 0 prepares them in a thread (tests, small machines)."""
        self._processes = processes
        self._divisions = DivisionCache()
        self._clock = clock or Clock()  # the worker passes its settings' clock
        self._executor: ProcessPoolExecutor | None = None
        self._pool = pool
        self._cipher = cipher
        self._batch_size = batch_size
        self._stale_after_s = stale_after_s
        self._poll_interval_s = poll_interval_s
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:6]}"

    async def run(self) -> None:
        """Forever: claim a job, run it; poll when there is none."""
        try:
            await self.warm_up()
            await self._run_forever()
        finally:
            self.close()

    async def _run_forever(self) -> None:
        database = OutageLog("import.database")  # one line when it goes, one when it is back
        while True:
            try:
                ran = await self.run_once()
                database.ok()
            except (asyncpg.PostgresError, *UNAVAILABLE) as exc:
                await asyncio.sleep(database.failed(exc))
                continue
            if not ran:
                await asyncio.sleep(self._poll_interval_s)

    async def run_once(self) -> bool:
        async with self._pool.acquire() as conn:
            job = await store_imports.claim_job(conn, self.name, self._stale_after_s, self._clock.now())
        if job is None:
            return False
        log.info("import.claimed", job_id=str(job["id"]), rows_done=job["rows_done"])
        try:
            await self._run_job(job)
        except (asyncpg.PostgresError, *UNAVAILABLE):
            raise  # the database went away: the job stays claimed and is resumed later
        except Exception as exc:  # a bug must not turn into a crash loop on the same job
            log.exception("import.failed", job_id=str(job["id"]), error=type(exc).__name__)
            if isinstance(exc, BrokenProcessPool):
                self.close()  # a preparing process died: start fresh ones for the next job
            async with self._pool.acquire() as conn:
                await store_imports.finish(conn, job["id"], now=self._clock.now(),
                                           failure="导入时发生内部错误 / internal error while importing")
        return True

    async def _job_rows(self, job: asyncpg.Record) -> tuple[dict[str, int], list[Any], int,
                                                            Callable[..., PreparedBatch]]:
        """The job's column mapping, its rows, the sheet's row number of the first of them and
        the function that prepares a batch of them: the rows the api stored (still JSON
        lines, decoded where each batch is prepared), or for a job stored without them, the
        file read again. Raises SheetRejected."""
        if job["stored_rows"] is not None:
            columns, lines, first_row = stored_rows.stored_columns_and_lines(job["stored_rows"])
            return columns, lines, first_row, prepare_stored_batch
        # The upload refused formula cells in these very bytes before storing them.
        sheet = await asyncio.to_thread(sheets.read_sheet, job["content"], check_formulas=False)
        return sheet.columns, sheet.rows, sheet.first_row, prepare_batch

    async def _run_job(self, job: asyncpg.Record) -> None:
        job_id = job["id"]
        try:
            columns, rows, first_row, prepare = await self._job_rows(job)
        except SheetRejected as rejected:
            async with self._pool.acquire() as conn:
                await store_imports.finish(conn, job_id, now=self._clock.now(), failure=rejected.reason)
            return
        divisions = await self._divisions_for(job["scope"], columns, rows, decode=prepare is prepare_stored_batch)
        total = len(rows)
        seen: dict[str, int] = {}
        today = self._clock.today()  # the county's, as the api checks it
        prefix = scope_prefix(job["scope"])
        job_rows = JobRows(columns, rows, stored=prepare is prepare_stored_batch, today=today, divisions=divisions,
                           default_county=prefix[:6].ljust(12, "0") if len(prefix) >= 6 else None,
                           first_row=first_row)
        starts = iter(range(job["rows_done"], total, self._batch_size))
        in_flight: deque[tuple[int, asyncio.Future[PreparedBatch]]] = deque()

        def submit_next() -> None:
            # Batches are prepared ahead (validation, encryption), two per process, while
            # the database commits the current one: PostgreSQL and Python work at once.
            start = next(starts, None)
            if start is not None:
                in_flight.append((start, self._prepare(
                    prepare, columns, first_row + start, rows[start:start + self._batch_size],
                    cipher=self._cipher, scope=job["scope"], created_by=job["created_by"],
                    source=f"import:{job_id}", today=today, recorded_at=self._clock.now(),
                    divisions=divisions)))

        for _ in range(2 * max(1, self._processes) + 1):
            submit_next()
        try:
            while in_flight:
                start, upcoming = in_flight.popleft()
                prepared = await upcoming
                submit_next()
                prepared.drop_duplicates(seen)
                rows_done = min(start + self._batch_size, total)
                if not await self._commit_batch(job_id, prepared, rows_done=rows_done, job_rows=job_rows,
                                                scope=prefix):
                    log.warning("import.lost_claim", job_id=str(job_id))
                    return
        finally:
            for _start, leftover in in_flight:
                leftover.cancel()
        async with self._pool.acquire() as conn:
            await store_imports.finish(conn, job_id, now=self._clock.now())
        log.info("import.finished", job_id=str(job_id))

    async def _divisions_for(self, scope: str, columns: dict[str, int], rows: list[Any], *,
                             decode: bool) -> DivisionRegister:
        """The division register the job's rows are checked against, in memory: the
        uploader's county, or, for a scope above a county (a city, a province), the
        counties its rows name."""
        prefix = scope_prefix(scope)
        if len(prefix) >= COUNTY_DIGITS:
            counties = [prefix]
        else:
            index = columns.get("county_code")
            cells = stored_rows.decode_stored_rows(rows) if decode else rows
            counties = sorted({str(row[index]).strip()[:COUNTY_DIGITS] for row in cells if index is not None
                               and index < len(row) and str(row[index]).strip()[:COUNTY_DIGITS].isdigit()
                               and str(row[index]).strip().startswith(prefix)})
        async with self._pool.acquire() as conn:
            await self._divisions.load(conn, counties)
            # read for each job: county staff add schools while the worker runs
            schools = await store_schools.schools_of_counties(conn, [c[:6].ljust(12, "0") for c in counties])
        register = self._divisions.combined(counties) if counties else DivisionRegister(prefix)
        return replace(register, schools=school_words(schools) if schools else None)

    def _prepare(self, function: Any, *args: Any, **kwargs: Any) -> asyncio.Future[PreparedBatch]:
        if self._processes <= 0:
            return asyncio.ensure_future(asyncio.to_thread(function, *args, **kwargs))
        if self._executor is None:
            # spawn: a fork of a process with an event loop and open sockets is unsafe.
            self._executor = ProcessPoolExecutor(self._processes, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=yield_to_others)
        return asyncio.get_running_loop().run_in_executor(self._executor, partial(function, *args, **kwargs))

    async def warm_up(self) -> None:
        """Starts the preparing processes now rather than with the first job."""
        if self._processes > 0:
            await asyncio.gather(*[self._prepare(warm_up_process, self._cipher) for _ in range(self._processes)])

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def _commit_batch(self, job_id: UUID, batch: PreparedBatch, *, rows_done: int, job_rows: JobRows,
                            scope: str) -> bool:
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                if not await store_imports.still_owned(conn, job_id, self.name):
                    return False
                inserted = await self._insert_children(conn, batch)
                registered = []
                events = []
                for position, child_id in enumerate(batch.child_ids):
                    if child_id in inserted:
                        events.append(batch.events[position])
                    else:
                        registered.append((batch.row_numbers[position], batch.indexes[position]))
                # Rows whose ID is registered: the same child (nothing new, or changes to
                # confirm) or a conflict with another child.
                matches = await match_registered(conn, job_id=job_id, scope_prefix=scope, cipher=self._cipher,
                                                 job_rows=job_rows, rows=registered)
                await outbox.add_copy_lines(conn, events)
                await store_imports.add_errors(conn, job_id, sorted(batch.errors))
                await store_imports.add_errors(conn, job_id, matches.existing, kind="existing")
                await store_imports.add_errors(conn, job_id, matches.conflicts, kind="conflict")
                await store_imports.advance(conn, job_id, rows_done=rows_done, imported=len(inserted),
                                            rejected=len(batch.rejected_rows), existing=len(matches.existing),
                                            changed=matches.changes, conflicting=len(matches.conflicts),
                                            now=self._clock.now())
        return True

    async def _insert_children(self, conn: asyncpg.Connection, batch: PreparedBatch) -> set[str]:
        """COPY the rows whose IDs are not registered yet straight into `children`; if someone
        registers one of them meanwhile, fall back to the staging table's ON CONFLICT.
        Returns the ids (as text) of the children inserted."""
        if not batch.child_ids:
            return set()
        known = await store_imports.registered_indexes(conn, batch.indexes)
        fresh = [position for position, index in enumerate(batch.indexes) if index not in known]
        if not fresh:
            return set()
        lines = [batch.records[position] for position in fresh]
        try:
            async with conn.transaction():  # a savepoint: the fallback starts clean
                await store_imports.copy_children(conn, lines)
            return {batch.child_ids[position] for position in fresh}
        except asyncpg.UniqueViolationError:
            return {str(child_id) for child_id in await store_imports.stage_and_insert(conn, lines)}

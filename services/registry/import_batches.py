"""Preparing a batch of an import: the pure CPU work between a sheet's cells and the rows
to COPY — validation, pinyin, encryption, blind index, event encoding. It runs in worker
processes (see importer.ImportRunner), so its inputs and output are picklable, and it
allocates no reference cycles.
"""

from __future__ import annotations

import gc
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterator
from uuid import uuid4

from services.registry import domain, identity, privacy, store, store_imports, stored_rows
from services.registry.divisions import DivisionRegister
from services.registry.import_rows import RowError, is_blank, parse_row
from services.registry.pinyin import search_text
from services.registry.sheets import row_cells
from shared import outbox
from shared.auth import scope_prefix
from shared.contracts.events import ChildRegistered
from shared.crypto import FieldCipher

OUT_OF_SCOPE = "不在您的管辖范围内 / outside your jurisdiction"


@dataclass
class PreparedBatch:
    """One batch, ready to commit. Parallel lists, one entry per good row in sheet order,
    with plain strings: the batch crosses a process boundary, and a few lists of strings
    pickle far faster than dicts keyed by UUID objects."""
    child_ids: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)      # children rows as COPY lines
    events: list[str] = field(default_factory=list)       # their ChildRegistered outbox rows, as COPY lines
    row_numbers: list[int] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)      # national ID blind indexes
    errors: list[RowError] = field(default_factory=list)
    rejected_rows: set[int] = field(default_factory=set)
    # Refused rows whose national ID is valid: (row, blind index), to tell the clerk when the
    # real problem is an ID copied from another row (the birth date then disagrees with it).
    rejected_indexes: list[tuple[int, str]] = field(default_factory=list)

    def keep(self, wanted: Callable[[int], bool]) -> None:
        """Keeps the good rows at the positions `wanted` accepts."""
        kept = [position for position in range(len(self.child_ids)) if wanted(position)]
        if len(kept) == len(self.child_ids):
            return
        for name in ("child_ids", "records", "events", "row_numbers", "indexes"):
            column = getattr(self, name)
            setattr(self, name, [column[position] for position in kept])

    def drop_duplicates(self, seen: dict[str, int]) -> None:
        """Rows whose national ID appeared earlier in the file are refused (`seen` spans
        the batches of one job; batches may be prepared in other processes)."""
        def first_time(position: int) -> bool:
            index, row_number = self.indexes[position], self.row_numbers[position]
            if index in seen:
                self.errors.append((row_number, "national_id", duplicate_of(seen[index])))
                self.rejected_rows.add(row_number)
                return False
            seen[index] = row_number
            return True
        self.keep(first_time)
        for row_number, index in self.rejected_indexes:
            if index in seen and seen[index] != row_number:
                self.errors.append((row_number, "national_id", duplicate_of(seen[index])))


def duplicate_of(row_number: int) -> str:
    return f"与第{row_number}行身份证号重复 / the same national ID as row {row_number} of this file"


def prepare_batch(columns: dict[str, int], first_row: int, rows: list[list[Any]], *, cipher: FieldCipher,
                  scope: str, created_by: str, source: str, today: date, recorded_at: datetime,
                  divisions: DivisionRegister) -> PreparedBatch:
    """Validates, encrypts and indexes one batch of rows, and encodes their events. Pure
    CPU work with picklable inputs and output, so it may run in another process.
    `divisions`: the register of the counties the sheet may name (a county's is a few
    hundred entries, small enough to travel with every batch)."""
    with gc_paused():
        return _prepare_batch(columns, first_row, rows, cipher=cipher, scope=scope, created_by=created_by,
                              source=source, today=today, recorded_at=recorded_at, divisions=divisions)


def prepare_stored_batch(columns: dict[str, int], first_row: int, lines: list[bytes], **options: Any) -> PreparedBatch:
    """`prepare_batch` for rows the api stored (stored_rows.encode_stored_rows), decoded here, in
    the preparing process."""
    return prepare_batch(columns, first_row, stored_rows.decode_stored_rows(lines), **options)


@contextmanager
def gc_paused() -> Iterator[None]:
    """A batch allocates some hundred thousand short-lived objects and no reference cycles;
    the cyclic collector would walk them again and again (about a fifth of the batch's
    time) for nothing. Reference counting still frees them as they go."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _prepare_batch(columns: dict[str, int], first_row: int, rows: list[list[Any]], *, cipher: FieldCipher,
                   scope: str, created_by: str, source: str, today: date, recorded_at: datetime,
                   divisions: DivisionRegister) -> PreparedBatch:
    prefix = scope_prefix(scope)
    # A sheet without a county column (or a blank cell) means the uploader's own county.
    default_county = prefix[:6].ljust(12, "0") if len(prefix) >= 6 else None
    batch = PreparedBatch()
    events: list[ChildRegistered] = []
    for offset, row in enumerate(rows):
        row_number = first_row + offset  # the sheet's own row number (a title may push the header down)
        raw = row_cells(columns, row)
        if is_blank(raw):
            continue
        parsed = parse_row(row_number, raw, uuid4(), today, divisions, default_county)
        if parsed.child is None:
            batch.errors.extend(parsed.errors)
            batch.rejected_rows.add(row_number)
            if parsed.national_id:
                batch.rejected_indexes.append((row_number, privacy.national_id_index(cipher, parsed.national_id)))
            continue
        child = parsed.child
        where = child.jurisdiction.village_code or child.jurisdiction.township_code
        if not where.startswith(prefix):
            batch.errors.append((row_number, "township_code", OUT_OF_SCOPE))
            batch.rejected_rows.add(row_number)
            continue
        sealed = privacy.seal(child, cipher)
        batch.child_ids.append(str(child.id))
        batch.records.append(store_imports.copy_line(store.child_values(
            child, sealed, search_text(child.name), source=source, created_by=created_by,
            recorded_at=recorded_at)))
        batch.indexes.append(sealed["national_id_index"])
        batch.row_numbers.append(row_number)
        events.append(domain.register(child, today, checked=True))  # parse_row checked the record
    batch.events = [outbox.copy_line(row) for row in outbox.encode_rows(events)]
    return batch


def default_processes() -> int:
    """One more preparing process than the CPUs this process may use: they run at low
    priority, and the extra one takes up the CPU left while a commit waits on the disk
    (100,000 rows on 2 CPUs: the job took 17.7-21.6 s with 3 processes, 19.9-23.6 s with
    2, alternating runs)."""
    return math.ceil(available_cpus()) + 1


def available_cpus(cgroup: Path = Path("/sys/fs/cgroup")) -> float:
    """The CPUs this process may use: its CPU affinity, capped by a cgroup CPU quota (a
    container's `limits.cpu`). os.cpu_count() is the whole node's: on a 32-core node a
    container limited to 2 CPUs would start 33 preparing processes of ~200 MB each."""
    cpus = float(len(os.sched_getaffinity(0)))
    quota = cgroup_cpu_quota(cgroup)
    return max(1.0, min(cpus, quota) if quota is not None else cpus)


def cgroup_cpu_quota(cgroup: Path) -> float | None:
    """The CPU quota of the cgroup mounted at `cgroup`, in CPUs; None when there is none."""
    try:  # cgroup v2: "<quota> <period>" or "max <period>"
        quota, period = (cgroup / "cpu.max").read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1
        quota_us = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def yield_to_others() -> None:
    """Preparing processes run at a lower CPU priority: the batch commits (PostgreSQL), the
    worker's relay and consumers and the api come first, and preparation takes what CPU is
    left. Preparing runs ahead of the commits, so it has slack to give."""
    os.nice(10)


def warm_up_process(cipher: FieldCipher) -> bool:
    """Loads now what validation loads lazily on first use (stdnum's region table,
    pypinyin's dictionaries, phonenumbers' metadata, the cipher's OpenSSL contexts: about
    half a second per process), rather than in the first batches of the first job."""
    identity.normalize_national_id("11010519491231002X")
    identity.normalize_phone("13800138000", "phone")
    search_text("王小明")
    cipher.encrypt("warm-up", context="warm-up")
    cipher.blind_index("warm-up", purpose="warm-up")
    return True

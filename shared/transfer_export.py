"""`shouhu export --out DIR`: a county's services written into one archive (shared/transfer.py).

Each service is read in one REPEATABLE READ, read-only transaction, so its tables are one
consistent moment. The county is expected to be quiet (APIs stopped, workers drained): the
export refuses while an outbox row is still pending (an event not yet on the log) or a dead
letter is open (an event not yet applied), because either would leave the archive's tables
and its events telling different stories.

Events come from the service's domain topic on the county's Kafka, read from the first
offset to the end: the topics are the log of record (kept for ever); the outbox keeps only
a week. Notify's topic (delivery reports for other systems, kept 30 days) is not moved.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer

from shared.crypto import FieldCipher
from shared.entrypoint import ServiceEntry
from shared.kafka_security import kafka_security
from shared.reindex import BlindIndexColumn
from shared.rekey import EncryptedColumn
from shared.settings import ServiceSettings
from shared.topics import topic_partitions
from shared.transfer import (
    EVENTS, FORMAT, MANIFEST, Table, TransferError, archive_file, line_context, manifest_mac, schema, select_rows,
    tables,
)

# The topic each service writes, which its archive carries; notify's is not a log of record.
PRODUCED = {"registry": "shouhu.registry.events.v1", "pairing": "shouhu.pairing.events.v1",
            "visits": "shouhu.visits.events.v1"}


class _Writer:
    """One archive file: lines sealed under the transfer key, counted and hashed as written."""

    def __init__(self, directory: Path, archive_id: str, file: str, cipher: FieldCipher) -> None:
        self._path = directory / file
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self._path.open("w", encoding="ascii")
        self._archive_id, self._file, self._cipher = archive_id, file, cipher
        self._hash = hashlib.sha256()
        self.rows = 0

    def write(self, value: Any) -> None:
        sealed = self._cipher.encrypt(json.dumps(value, ensure_ascii=False),
                                      context=line_context(self._archive_id, self._file, self.rows)) + "\n"
        self._handle.write(sealed)
        self._hash.update(sealed.encode("ascii"))
        self.rows += 1

    def close(self) -> dict[str, Any]:
        self._handle.close()
        return {"file": self._file, "rows": self.rows, "sha256": self._hash.hexdigest()}


def _opener(table: Table, source: FieldCipher, encrypted: Sequence[EncryptedColumn],
            indexes: Sequence[BlindIndexColumn]) -> Any:
    """What turns one stored row (a list in `table.columns` order) into the archive's: each
    encrypted column opened with the county's keys (in memory), each blind index dropped
    (the target computes its own)."""
    position = {name: n for n, name in enumerate(table.columns)}
    opened = [(position[c.column], position[c.id_column], c) for c in encrypted if c.table == table.name]
    blanked = [position[i.column] for i in indexes if i.source.table == table.name]

    def convert(values: list[Any]) -> list[Any]:
        for value_at, id_at, column in opened:
            if values[value_at] is not None:
                values[value_at] = source.decrypt(values[value_at], context=column.context(values[id_at]))
        for at in blanked:
            values[at] = None
        return values

    return convert


async def _refuse_unless_quiet(conn: asyncpg.Connection, service: str) -> None:
    pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'")
    open_letters = await conn.fetchval("SELECT count(*) FROM dead_letters WHERE status = 'open'")
    if pending or open_letters:
        raise TransferError(f"{service}: {pending} outbox events not yet published and {open_letters} open dead "
                            "letters; let the worker publish, decide on the dead letters, then export")
    running = await conn.fetchval(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'import_jobs'")
    if running and await conn.fetchval("SELECT count(*) FROM import_jobs WHERE status IN ('pending', 'running')"):
        raise TransferError(f"{service}: a sheet import is still pending or running; let it finish first")


async def export_tables(conn: asyncpg.Connection, entry: ServiceEntry, source: FieldCipher, transfer: FieldCipher,
                        directory: Path, archive_id: str) -> dict[str, Any]:
    await _refuse_unless_quiet(conn, entry.name)
    described: dict[str, Any] = {"schema": await schema(conn), "tables": {}}
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for table in await tables(conn):
            convert = _opener(table, source, entry.encrypted_columns, entry.blind_index_columns)
            writer = _Writer(directory, archive_id, archive_file(entry.name, table.name), transfer)
            try:
                async for row in conn.cursor(select_rows(table), prefetch=500):
                    writer.write(convert(json.loads(row["row"])))
            finally:
                written = writer.close()
            described["tables"][table.name] = {**written, "columns": list(table.columns), "key": list(table.key),
                                               "serial": sorted(table.serial)}
    return described


async def read_events(settings: ServiceSettings, topic: str, write: Callable[[dict[str, Any]], None]) -> None:
    """Every event on the county's `topic` (its prefix taken off) to `write`, one partition
    after another in offset order: each key's events stay in the order they happened, and no
    more than one fetch is held in memory."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                enable_auto_commit=False, request_timeout_ms=settings.kafka_request_timeout_ms,
                                **kafka_security(settings))
    await consumer.start()
    try:
        name = settings.kafka_topic_prefix + topic
        for part in await topic_partitions(consumer, [name]):   # none when the topic does not exist
            consumer.assign([part])
            await consumer.seek_to_beginning(part)
            end = (await consumer.end_offsets([part]))[part]
            at = (await consumer.beginning_offsets([part]))[part]
            while at < end:
                for record in (await consumer.getmany(part, timeout_ms=1000, max_records=1000)).get(part, []):
                    at = record.offset + 1
                    if record.offset >= end:
                        break
                    headers = {k: v.decode() for k, v in record.headers or ()}
                    write({"event_id": headers["ce_id"], "topic": topic, "event_type": headers["ce_type"],
                           "message_key": (record.key or b"").decode(), "headers": headers,
                           "payload": json.loads(record.value or b"null")})
    finally:
        await consumer.stop()


async def export_county(entries: Sequence[ServiceEntry], source: FieldCipher, transfer: FieldCipher,
                        directory: Path) -> dict[str, Any]:
    """Writes the archive; returns its manifest (table names, counts and checksums only)."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / MANIFEST).exists():
        raise TransferError(f"{directory} already holds an archive; export into an empty directory")
    archive_id = str(uuid.uuid4())
    manifest: dict[str, Any] = {"format": FORMAT, "archive_id": archive_id,
                                "exported_at": datetime.now(timezone.utc).isoformat(), "services": {}}
    for entry in entries:
        settings = entry.load_settings()
        conn = await asyncpg.connect(settings.database_url, timeout=10)
        try:
            described = await export_tables(conn, entry, source, transfer, directory, archive_id)
        finally:
            await conn.close()
        writer = _Writer(directory, archive_id, archive_file(entry.name, EVENTS), transfer)
        try:
            if entry.name in PRODUCED:
                await read_events(settings, PRODUCED[entry.name], writer.write)
        finally:
            described[EVENTS] = writer.close()
        manifest["services"][entry.name] = described
    manifest["mac"] = manifest_mac(transfer, manifest)
    (directory / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest

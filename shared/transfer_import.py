"""`shouhu import --from DIR`: a county's archive (shared/transfer.py) into this deployment.

Order and units of work:

1. Every service's schema is compared with the archive's (the migrations applied, with
   their checksums); any difference refuses the whole import before anything is written.
2. Every service's tables, one transaction per table (after a check that none of the
   archive's uuid ids is here already: the county imported before from another archive,
   refused before anything is written): the rows keep their ids; encrypted
   columns are sealed under this deployment's current key (the same contexts, so the
   services open them as their own) and blind indexes computed with its index key. A row
   whose key is already here refuses the table unless the row is the same one (reference
   data both deployments loaded; bookkeeping columns aside), which is left as it is. History
   kept under a sequence (change history, read audit, concern history) is numbered by this
   database. Triggers are off for the transaction (session_replication_role = replica): the
   history is the county's, copied, not a new "inserted by system" for every row.
3. The inbox of every consumer here, for every event in the archive on a topic it reads:
   the imported tables already hold those events' effects.
4. The events, into each producing service's outbox as pending, with their original ids and
   headers (time included): the relay publishes them onto this deployment's topics, so its
   log of record holds the county's history too, and a consumer rebuilt from offset 0 (reports)
   finds the county. Step 3 makes this deployment's own consumers skip them (nothing applied
   twice, no notice sent again); a subscriber elsewhere sees event ids it may already know.

Each unit records itself in `county_imports` (archive id, part) in its own transaction, so
an interrupted import is run again and continues after the last finished unit, and a
finished one changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import asyncpg

from shared.crypto import FieldCipher
from shared.entrypoint import ServiceEntry
from shared.rekey import quote_identifier
from shared.transfer import (
    BOOKKEEPING, EVENTS, FORMAT, MANIFEST, TransferError, archive_file, manifest_mac, read_lines, schema,
)

BATCH = 500


@dataclass
class ImportReport:
    imported: dict[str, int] = field(default_factory=dict)  # "service/table" -> rows written now
    already_present: dict[str, int] = field(default_factory=dict)  # identical rows found here
    skipped: list[str] = field(default_factory=list)  # parts a previous run finished


def load_manifest(directory: Path, transfer: FieldCipher) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TransferError(f"{directory} holds no readable {MANIFEST}") from exc
    if manifest.get("format") != FORMAT:
        raise TransferError(f"not an archive of format {FORMAT}")
    if manifest.get("mac") != manifest_mac(transfer, manifest):
        raise TransferError("the manifest does not match the transfer key (a different key, or a changed manifest)")
    return manifest


async def _done(conn: asyncpg.Connection, archive_id: str, part: str) -> bool:
    return bool(await conn.fetchval("SELECT true FROM county_imports WHERE archive_id = $1 AND part = $2",
                                    archive_id, part))


async def _mark(conn: asyncpg.Connection, archive_id: str, part: str, rows: int) -> None:
    await conn.execute("INSERT INTO county_imports (archive_id, part, rows) VALUES ($1, $2, $3)",
                       archive_id, part, rows)


def _sealer(entry: ServiceEntry, table: str, columns: Sequence[str], target: FieldCipher) -> Any:
    """Seals a row's clear values under this deployment's key and fills its blind indexes."""
    at = {name: n for n, name in enumerate(columns)}
    sealed = [(at[c.column], at[c.id_column], c) for c in entry.encrypted_columns if c.table == table]
    indexes = [(at[i.column], at[i.source.column], i) for i in entry.blind_index_columns if i.source.table == table]

    def seal(values: list[Any]) -> list[Any]:
        for index_at, source_at, index in indexes:
            clear = values[source_at]
            values[index_at] = None if clear is None else target.blind_index(clear, purpose=index.purpose)
        for value_at, id_at, column in sealed:
            if values[value_at] is not None:
                values[value_at] = target.encrypt(values[value_at], context=column.context(values[id_at]))
        return values

    return seal


async def _insert_batch(conn: asyncpg.Connection, table: str, described: dict[str, Any],
                        rows: list[dict[str, Any]], opaque: frozenset[str]) -> tuple[int, int]:
    """(written, already here). Refuses when a key is here holding a different row; sealed
    values (`opaque`: a fresh nonce each time) cannot be compared and are not."""
    name = quote_identifier(table)
    records = json.dumps(rows, ensure_ascii=False)
    key = [quote_identifier(c) for c in described["key"]]
    present = 0
    if key:
        compared = [c for c in described["columns"] if c not in BOOKKEEPING | opaque and c not in described["serial"]]
        same = " AND ".join(f"t.{quote_identifier(c)} IS NOT DISTINCT FROM r.{quote_identifier(c)}" for c in compared)
        on = " AND ".join(f"t.{k} = r.{k}" for k in key)
        clash = await conn.fetchrow(
            f"SELECT count(*) FILTER (WHERE NOT ({same})) AS different, count(*) AS found "
            f"FROM jsonb_populate_recordset(null::{name}, $1::jsonb) r JOIN {name} t ON {on}", records)
        if clash["different"]:
            raise TransferError(
                f"{table}: {clash['different']} imported rows have the key ({', '.join(described['key'])}) of a "
                "different row already here; nothing of this table was imported (are the two deployments' ids "
                "from the same county, or was this archive changed?)")
        present = clash["found"]
    copied = [quote_identifier(c) for c in described["columns"] if c not in described["serial"]]
    listed = ", ".join(copied)
    skip = (f" WHERE NOT EXISTS (SELECT 1 FROM {name} t WHERE " + " AND ".join(f"t.{k} = r.{k}" for k in key) + ")"
            if key else "")
    status = await conn.execute(
        f"INSERT INTO {name} ({listed}) SELECT {', '.join('r.' + c for c in copied)} "
        f"FROM jsonb_populate_recordset(null::{name}, $1::jsonb) r{skip}", records)
    return int(status.split()[-1]), present


async def import_table(conn: asyncpg.Connection, entry: ServiceEntry, directory: Path, manifest: dict[str, Any],
                       table: str, target: FieldCipher, report: ImportReport) -> None:
    archive_id, part = manifest["archive_id"], f"{entry.name}/{table}"
    described = manifest["services"][entry.name]["tables"][table]
    if await _done(conn, archive_id, part):
        report.skipped.append(part)
        return
    seal = _sealer(entry, table, described["columns"], target)
    opaque = frozenset([c.column for c in entry.encrypted_columns if c.table == table]
                       + [i.column for i in entry.blind_index_columns if i.source.table == table])
    written = present = 0
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            batch: list[dict[str, Any]] = []
            rows = read_lines(directory, archive_id, archive_file(entry.name, table), described, _transfer(manifest))
            for values in rows:
                batch.append(dict(zip(described["columns"], seal(values))))
                if len(batch) == BATCH:
                    w, p = await _insert_batch(conn, table, described, batch, opaque)
                    written, present, batch = written + w, present + p, []
            if batch:
                w, p = await _insert_batch(conn, table, described, batch, opaque)
                written, present = written + w, present + p
            await _mark(conn, archive_id, part, written)
    except asyncpg.UniqueViolationError as clash:
        # A second unique key (a national ID's blind index): the same person in both deployments.
        raise TransferError(f"{table}: an imported row repeats a value this deployment already holds under "
                            f"{clash.constraint_name} (the same child registered in both?); nothing of this "
                            "table was imported") from None
    report.imported[part] = written
    if present:
        report.already_present[part] = present


async def refuse_known_ids(conn: asyncpg.Connection, entry: ServiceEntry, directory: Path,
                           manifest: dict[str, Any]) -> None:
    """Before anything is written: a table keyed by a uuid whose ids are already here (this
    county imported before from another archive, or the same ids in two counties) refuses
    the import. Only reference data, keyed by codes, may be found here as it is; history
    without a key of its own could not tell a second copy from the first."""
    for table, described in manifest["services"][entry.name]["tables"].items():
        if len(described["key"]) != 1 or await _done(conn, manifest["archive_id"], f"{entry.name}/{table}"):
            continue
        column = described["key"][0]
        kind = await conn.fetchval("SELECT data_type FROM information_schema.columns WHERE table_schema = 'public' "
                                   "AND table_name = $1 AND column_name = $2", table, column)
        if kind != "uuid":
            continue
        at = described["columns"].index(column)
        ids = [row[at] for row in read_lines(directory, manifest["archive_id"], archive_file(entry.name, table),
                                             described, _transfer(manifest))]
        found = await conn.fetchval(f"SELECT count(*) FROM {quote_identifier(table)} "
                                    f"WHERE {quote_identifier(column)} = ANY($1::uuid[])", ids)
        if found:
            raise TransferError(f"{entry.name}: {found} of the archive's {table} ids are already here (imported "
                                "before from another archive?); nothing was imported")


def _transfer(manifest: dict[str, Any]) -> FieldCipher:
    cipher: FieldCipher = manifest["_transfer"]
    return cipher


def _events(directory: Path, manifest: dict[str, Any], only: str | None = None) -> Iterable[tuple[str, dict[str, Any]]]:
    for service, described in manifest["services"].items():
        if only is not None and service != only:
            continue
        for event in read_lines(directory, manifest["archive_id"], archive_file(service, EVENTS), described[EVENTS],
                                _transfer(manifest)):
            yield service, event


async def mark_inbox(conn: asyncpg.Connection, entry: ServiceEntry, directory: Path, manifest: dict[str, Any],
                     report: ImportReport) -> None:
    """Every consumer of this service has 'processed' every archived event on its topics."""
    archive_id, part = manifest["archive_id"], f"{entry.name}/(inbox)"
    if await _done(conn, archive_id, part):
        report.skipped.append(part)
        return
    settings = entry.load_settings().model_copy(update={"kafka_topic_prefix": ""})
    readers = [(consumer.name, set(consumer.topics)) for consumer in entry.build_consumers(settings, None)]
    rows = ((name, event["event_id"], event["event_type"]) for _, event in _events(directory, manifest)
            for name, topics in readers if event["topic"] in topics)
    async with conn.transaction():
        count = await _in_batches(conn, "INSERT INTO inbox (consumer, event_id, event_type) "
                                        "VALUES ($1, $2::uuid, $3) ON CONFLICT DO NOTHING", rows)
        await _mark(conn, archive_id, part, count)
    report.imported[part] = count


async def _in_batches(conn: asyncpg.Connection, sql: str, rows: Iterable[tuple[Any, ...]]) -> int:
    """executemany in slices, so an archive of millions of events is never held in memory."""
    batch: list[tuple[Any, ...]] = []
    count = 0
    for row in rows:
        batch.append(row)
        if len(batch) == 5 * BATCH:
            await conn.executemany(sql, batch)
            count, batch = count + len(batch), []
    if batch:
        await conn.executemany(sql, batch)
    return count + len(batch)


async def queue_events(conn: asyncpg.Connection, entry: ServiceEntry, directory: Path, manifest: dict[str, Any],
                       report: ImportReport) -> None:
    """The service's archived events into its outbox, pending, original ids and headers kept."""
    archive_id, part = manifest["archive_id"], f"{entry.name}/(events)"
    if await _done(conn, archive_id, part):
        report.skipped.append(part)
        return
    rows = ((event["event_id"], event["topic"], event["message_key"], event["event_type"],
             json.dumps(event["headers"]), json.dumps(event["payload"], ensure_ascii=False))
            for _, event in _events(directory, manifest, only=entry.name))
    async with conn.transaction():
        count = await _in_batches(
            conn, "INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload) "
                  "VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6::jsonb) ON CONFLICT (event_id) DO NOTHING", rows)
        await _mark(conn, archive_id, part, count)
    report.imported[part] = count


async def import_county(entries: Sequence[ServiceEntry], directory: Path, transfer: FieldCipher,
                        target: FieldCipher) -> ImportReport:
    manifest = load_manifest(directory, transfer)
    manifest["_transfer"] = transfer
    by_name = {entry.name: entry for entry in entries}
    missing = set(manifest["services"]) - set(by_name)
    if missing:
        raise TransferError(f"the archive holds services this import was not given: {', '.join(sorted(missing))}")
    report = ImportReport()
    connections = {name: await asyncpg.connect(entry.load_settings().database_url, timeout=10)
                   for name, entry in by_name.items()}
    try:
        for name in manifest["services"]:  # 1: every schema first, before anything is written
            if await connections[name].fetchval("SELECT to_regclass('county_imports') IS NULL"):
                raise TransferError(f"{name}: this database predates `shouhu import` (no county_imports); run "
                                    "`shouhu migrate` on both deployments, then export again")
            here = await schema(connections[name])
            if here != manifest["services"][name]["schema"]:
                raise TransferError(f"{name}: this database's migrations differ from the archive's "
                                    f"({len(here)} applied here, {len(manifest['services'][name]['schema'])} in "
                                    "the archive); bring both to the same release, then export again")
        for name in manifest["services"]:  # 1b: no record of the county already here
            await refuse_known_ids(connections[name], by_name[name], directory, manifest)
        for name in manifest["services"]:  # 2
            for table in manifest["services"][name]["tables"]:
                await import_table(connections[name], by_name[name], directory, manifest, table, target, report)
        for name, entry in by_name.items():  # 3: before any event can be published
            await mark_inbox(connections[name], entry, directory, manifest, report)
        for name in manifest["services"]:  # 4
            await queue_events(connections[name], by_name[name], directory, manifest, report)
    finally:
        for conn in connections.values():
            await conn.close()
    return report

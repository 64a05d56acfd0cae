"""Moving a county's data and history into another deployment (a province): what
`shouhu export` writes and `shouhu import` reads (shared/transfer_export.py,
shared/transfer_import.py).

The archive is a directory:

    manifest.json                 archive id, each service's schema (its applied migrations),
                                  per table its file, row count and SHA-256; per service its
                                  events; a MAC under the transfer key (a wrong key is refused
                                  before anything is read)
    <service>/<table>.jsonl       one line per row
    <service>/events.jsonl        the service's events, read from its domain topic

Every line is sealed under the *transfer key* (AES-256-GCM, bound to the archive id, the
file and the line number, so lines cannot be moved, dropped or swapped unnoticed). Inside a
line the row's encrypted columns are in clear: they were decrypted with the county's keys
in memory only, and the import encrypts them under the province's current key and
recomputes their blind indexes with the province's index key. So the archive on disk holds
no value a reader without the transfer key could read, the county's own keys never leave
the county, and the province's keys never reach it. The transfer key is made for one move
(`shouhu export` writes it to a file of its own if none exists) and carried separately from
the archive; once the import is checked, both are destroyed.

Nothing here logs a value or a row id: only table names and counts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import asyncpg

from shared.crypto import CryptoError, FieldCipher
from shared.rekey import quote_identifier

FORMAT = "shouhu-county-archive/1"
MANIFEST = "manifest.json"
EVENTS = "events"
_TRANSFER_KEY_ID = "transfer"

# Tables that are this deployment's plumbing, not the county's state or history:
# migrations (compared, not copied), Kafka positions, dead letters (an export refuses while
# any is open), idempotency keys (a client's retry window, and they hold whole answers),
# notify's rate counters, the division register (every deployment loads the same one), and
# the import markers themselves. The inbox and outbox are rebuilt from the events.
PLUMBING = frozenset({
    "schema_migrations", "consumer_progress", "dead_letters", "idempotency_keys", "inbox", "outbox",
    "county_imports", "rate_claims", "divisions", "division_editions",
})
# Columns never exported: an uploaded sheet (in clear) is dropped when its job finishes anyway.
DROPPED_COLUMNS = {"import_jobs": frozenset({"content"})}
# Columns whose difference does not make a row a different row (reference data a migration
# loaded into both deployments at different moments).
BOOKKEEPING = frozenset({"version", "created_at", "updated_at", "updated_by", "loaded_at"})


class TransferError(RuntimeError):
    """A refusal with a sentence for the operator (no personal data in it)."""


# -- the transfer key --------------------------------------------------------------------------

def new_transfer_key(path: Path) -> None:
    """32 random bytes, base64, in a file only its owner may read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(os.urandom(32)).decode() + "\n")


def transfer_cipher(path: Path) -> FieldCipher:
    """The transfer key file as a cipher: one derived key seals lines, another MACs the manifest."""
    try:
        secret = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
    except (OSError, ValueError) as exc:
        raise TransferError(f"the transfer key file {path} is missing or not base64") from exc
    if len(secret) != 32:
        raise TransferError("the transfer key is 32 bytes, base64")
    return FieldCipher(keys={_TRANSFER_KEY_ID: hashlib.sha256(b"seal\x1f" + secret).digest()},
                       current_key_id=_TRANSFER_KEY_ID, index_key=hashlib.sha256(b"mac\x1f" + secret).digest())


def manifest_mac(cipher: FieldCipher, manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return cipher.blind_index(json.dumps(body, sort_keys=True, ensure_ascii=False), purpose="manifest")


def line_context(archive_id: str, file: str, number: int) -> str:
    return f"shouhu-transfer:{archive_id}:{file}:{number}"


def read_lines(directory: Path, archive_id: str, file: str, expected: dict[str, Any],
               cipher: FieldCipher) -> Iterator[dict[str, Any]]:
    """The rows of one archive file, opened; refuses a file whose checksum or count differs."""
    path = directory / file
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected["sha256"]:
        raise TransferError(f"{file}: checksum differs from the manifest (changed or damaged)")
    count = 0
    with path.open(encoding="ascii") as handle:
        for number, line in enumerate(handle):
            try:
                yield json.loads(cipher.decrypt(line.strip(), context=line_context(archive_id, file, number)))
            except CryptoError as exc:
                raise TransferError(f"{file}: line {number + 1} does not open under the transfer key") from exc
            count += 1
    if count != expected["rows"]:
        raise TransferError(f"{file}: {count} rows, the manifest says {expected['rows']}")


# -- what a database holds ---------------------------------------------------------------------

@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]  # in the table's order, without dropped columns
    key: tuple[str, ...]  # the primary key; empty when the table has none
    serial: frozenset[str]  # filled by a sequence: never copied, the target numbers its own rows

    @property
    def copied(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.serial)


async def tables(conn: asyncpg.Connection) -> list[Table]:
    """The service's tables that hold the county's state and history, in name order."""
    rows = await conn.fetch(
        """SELECT c.table_name, c.column_name, c.column_default, c.is_identity
             FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              -- a month's partition of a trail is read and written through its parent
              AND NOT EXISTS (SELECT 1 FROM pg_class p JOIN pg_namespace n ON n.oid = p.relnamespace
                               WHERE n.nspname = 'public' AND p.relname = c.table_name AND p.relispartition)
            ORDER BY c.table_name, c.ordinal_position""")
    keys = await conn.fetch(
        """SELECT rel.relname AS table_name, array_agg(a.attname ORDER BY k.n) AS key
             FROM pg_index i JOIN pg_class rel ON rel.oid = i.indrelid
             JOIN pg_namespace ns ON ns.oid = rel.relnamespace AND ns.nspname = 'public'
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum = k.attnum
            WHERE i.indisprimary GROUP BY rel.relname""")
    key_of = {row["table_name"]: tuple(row["key"]) for row in keys}
    found: dict[str, tuple[list[str], set[str]]] = {}
    for row in rows:
        name = row["table_name"]
        if name in PLUMBING:
            continue
        columns, serial = found.setdefault(name, ([], set()))
        if row["column_name"] in DROPPED_COLUMNS.get(name, ()):
            continue
        columns.append(row["column_name"])
        if (row["column_default"] or "").startswith("nextval(") or row["is_identity"] == "YES":
            serial.add(row["column_name"])
    result = []
    for name in sorted(found):
        columns, serial = found[name]
        key = key_of.get(name, ())
        # A serial key is renumbered, so it cannot say whether a row is already there.
        result.append(Table(name, tuple(columns), () if set(key) & serial else key, frozenset(serial)))
    return result


async def schema(conn: asyncpg.Connection) -> list[list[Any]]:
    """The migrations applied, which both ends must share exactly."""
    rows = await conn.fetch("SELECT component, version, checksum FROM schema_migrations ORDER BY 1, 2")
    return [[row["component"], row["version"], row["checksum"]] for row in rows]


def select_rows(table: Table) -> str:
    quoted = ", ".join(quote_identifier(c) for c in table.columns)
    order = ", ".join(quote_identifier(c) for c in (table.key or table.columns[:1]))
    return f"SELECT json_build_array({quoted})::text AS row FROM {quote_identifier(table.name)} ORDER BY {order}"


_SAFE = re.compile(r"^[a-z0-9_]+$")


def archive_file(service: str, table: str) -> str:
    if not (_SAFE.match(service) and _SAFE.match(table)):
        raise TransferError(f"not a plain name: {service}/{table}")
    return f"{service}/{table}.jsonl"

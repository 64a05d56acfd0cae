"""Re-encrypting stored ciphertexts under the current key, so an old key can be retired.

Each service declares its encrypted columns (`ServiceEntry.encrypted_columns`): the table,
the column, and the context prefix its code binds as associated data, so that a value is
opened as `FieldCipher.decrypt(value, context=f"{prefix}:{row id}")`. `rekey` walks each
column by keyset pagination on the id, one transaction per batch, and rewrites every value
that is not yet under the current key. The services keep running meanwhile: each write is
guarded by the value it replaces, so a value changed by a route since it was read is left
as the route wrote it (already under the current key, if that route's pods were restarted
with the new settings; `count_by_key` afterwards shows whether any old key remains).

Values here are minors' personal data: nothing in this module logs or returns a value or a
row id, only table and column names, key ids and counts.

The SQL lives in this module's small functions rather than a service's store.py, because
it is generic over table and column names. Those names come only from the declarations and
are validated and quoted by `quote_identifier`; every value is a bind parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import asyncpg

from shared.crypto import CryptoError, FieldCipher

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
# A well-formed ciphertext's key id (shared/crypto.py's _KEY_ID after "v1."). Anything else
# is counted as unrecognised rather than split: a value stored in clear by mistake must not
# have a piece of it printed as if it were a key id.
_CIPHERTEXT_HEAD = r"^v1\.[A-Za-z0-9_-]{1,32}\."
UNRECOGNISED = "(unrecognised)"


def quote_identifier(name: str) -> str:
    """A table or column name for SQL text; only plain lower-case names are accepted."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain lower-case SQL identifier: {name!r}")
    return f'"{name}"'


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    context_prefix: str  # the value of row <id> is bound to the context f"{context_prefix}:{id}"
    id_column: str = "id"

    def __post_init__(self) -> None:
        # A bad declaration fails when the service's entry is imported, not half-way through a run.
        for name in (self.table, self.column, self.id_column):
            quote_identifier(name)

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"

    def context(self, row_id: object) -> str:
        return f"{self.context_prefix}:{row_id}"


@dataclass
class ColumnCounts:
    reencrypted: int = 0
    failed: int = 0  # did not decrypt (key not configured, or not this row's context): left as it was
    changed_concurrently: int = 0  # rewritten by someone else between our read and our write: theirs kept


def current_prefix(cipher: FieldCipher) -> str:
    return f"v1.{cipher.current_key_id}."


async def stale_batch(conn: asyncpg.Connection, column: EncryptedColumn, cipher: FieldCipher,
                      after: Any, limit: int) -> list[asyncpg.Record]:
    """The next `limit` rows with id above `after` (None: from the start) whose value is not
    under the current key. Compared with left(), not LIKE: key ids may contain `_`, which
    LIKE would take as a wildcard."""
    table, value, row_id = (quote_identifier(n) for n in (column.table, column.column, column.id_column))
    prefix = current_prefix(cipher)
    bound = "" if after is None else f"AND {row_id} > $4"
    sql = (f"SELECT {row_id} AS id, {value} AS value FROM {table} "
           f"WHERE {value} IS NOT NULL AND left({value}, $1) <> $2 {bound} ORDER BY {row_id} LIMIT $3")
    args: list[Any] = [len(prefix), prefix, limit] + ([] if after is None else [after])
    rows: list[Any] = await conn.fetch(sql, *args)
    return rows


async def replace_if_unchanged(conn: asyncpg.Connection, column: EncryptedColumn, row_id: Any,
                               old: str, new: str) -> bool:
    """Writes `new` only if the row still holds `old`; False if a concurrent write got there first."""
    table, value, id_name = (quote_identifier(n) for n in (column.table, column.column, column.id_column))
    status = await conn.execute(f"UPDATE {table} SET {value} = $1 WHERE {id_name} = $2 AND {value} = $3",
                                new, row_id, old)
    return str(status) == "UPDATE 1"


async def reencrypt_rows(conn: asyncpg.Connection, column: EncryptedColumn, cipher: FieldCipher,
                         rows: Sequence[asyncpg.Record], counts: ColumnCounts) -> None:
    """Re-encrypts the rows of one batch in the caller's transaction, adding to `counts`."""
    for row in rows:
        context = column.context(row["id"])
        try:
            clear = cipher.decrypt(row["value"], context=context)
        except CryptoError:
            counts.failed += 1
            continue
        if await replace_if_unchanged(conn, column, row["id"], row["value"], cipher.encrypt(clear, context=context)):
            counts.reencrypted += 1
        else:
            counts.changed_concurrently += 1


async def rekey_column(conn: asyncpg.Connection, cipher: FieldCipher, column: EncryptedColumn, *,
                       batch_size: int = 500) -> ColumnCounts:
    counts = ColumnCounts()
    after = None
    while True:
        # One transaction per batch: a crash loses at most one batch's work, and no lock is
        # held across the whole table while the services keep writing.
        async with conn.transaction():
            rows = await stale_batch(conn, column, cipher, after, batch_size)
            await reencrypt_rows(conn, column, cipher, rows, counts)
        if len(rows) < batch_size:
            return counts
        # Past failed and raced rows too, so that neither is read again in this run.
        after = rows[-1]["id"]


async def rekey(conn: asyncpg.Connection, cipher: FieldCipher, columns: Sequence[EncryptedColumn], *,
                batch_size: int = 500) -> dict[str, ColumnCounts]:
    """Per "table.column": how many values were re-encrypted, failed, or changed meanwhile."""
    if batch_size < 1:
        raise ValueError("batch_size is at least 1")
    return {column.label: await rekey_column(conn, cipher, column, batch_size=batch_size) for column in columns}


async def count_by_key(conn: asyncpg.Connection, columns: Sequence[EncryptedColumn]) -> dict[str, dict[str, int]]:
    """Per "table.column": how many values each key id encrypted. A key may be removed once
    no column counts it."""
    result: dict[str, dict[str, int]] = {}
    for column in columns:
        table, value = quote_identifier(column.table), quote_identifier(column.column)
        rows = await conn.fetch(
            f"SELECT CASE WHEN {value} ~ $1 THEN split_part({value}, '.', 2) ELSE $2 END AS key_id, "
            f"count(*) AS n FROM {table} WHERE {value} IS NOT NULL GROUP BY 1 ORDER BY 1",
            _CIPHERTEXT_HEAD, UNRECOGNISED)
        result[column.label] = {row["key_id"]: row["n"] for row in rows}
    return result

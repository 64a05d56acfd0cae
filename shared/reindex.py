"""Recomputing stored blind indexes after the index key or the index suite changed.

A blind index (FieldCipher.blind_index) cannot be converted from one key or suite to
another: it is recomputed from the clear value, which is read by decrypting the column the
index is derived from. `shouhu rekey SERVICE` runs this after re-encrypting, for the
columns a service declares (`ServiceEntry.blind_index_columns`).

While it runs, a registry still writing under the old settings would store old indexes
that neither lookups nor the duplicate check find: the operator's guide has the registry's
writers stopped meanwhile. A record duplicated anyway is counted, never merged or
overwritten (docs/operations.md, "The blind index").

As in shared/rekey.py: nothing here logs or returns a value or a row id, only counts; table
and column names come from declarations and are quoted; every value is a bind parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import asyncpg

from shared.crypto import CryptoError, FieldCipher
from shared.rekey import EncryptedColumn, quote_identifier


@dataclass(frozen=True)
class BlindIndexColumn:
    column: str  # in `source.table`: holds blind_index(clear value of `source`, purpose)
    source: EncryptedColumn
    purpose: str

    def __post_init__(self) -> None:
        quote_identifier(self.column)

    @property
    def label(self) -> str:
        return f"{self.source.table}.{self.column}"


@dataclass
class IndexCounts:
    recomputed: int = 0
    unchanged: int = 0
    failed: int = 0  # the source did not decrypt: index left as it was
    changed_concurrently: int = 0  # the source was rewritten meanwhile (by a route, with its own index)
    duplicate: int = 0  # another record already holds the new index: the same value twice, left for a person


async def _batch(conn: asyncpg.Connection, index: BlindIndexColumn, after: Any, limit: int) -> list[asyncpg.Record]:
    source = index.source
    table, value, row_id, column = (quote_identifier(n) for n in (source.table, source.column, source.id_column,
                                                                  index.column))
    bound = "" if after is None else f"AND {row_id} > $2"
    rows: list[Any] = await conn.fetch(
        f"SELECT {row_id} AS id, {value} AS value, {column} AS blind FROM {table} "
        f"WHERE {value} IS NOT NULL {bound} ORDER BY {row_id} LIMIT $1", limit, *([] if after is None else [after]))
    return rows


async def replace_index_if_unchanged(conn: asyncpg.Connection, index: BlindIndexColumn, row: asyncpg.Record,
                                     new: str) -> str:
    """'recomputed', 'changed_concurrently' or 'duplicate'. The NOT EXISTS keeps a unique
    index from aborting the batch's transaction when the same value is stored twice."""
    source = index.source
    table, value, row_id, column = (quote_identifier(n) for n in (source.table, source.column, source.id_column,
                                                                  index.column))
    status = await conn.execute(
        f"UPDATE {table} SET {column} = $1 WHERE {row_id} = $2 AND {value} = $3 "
        f"AND NOT EXISTS (SELECT 1 FROM {table} WHERE {column} = $1 AND {row_id} <> $2)", new, row["id"], row["value"])
    if str(status) == "UPDATE 1":
        return "recomputed"
    still = await conn.fetchval(f"SELECT {value} = $2 FROM {table} WHERE {row_id} = $1", row["id"], row["value"])
    return "duplicate" if still else "changed_concurrently"


async def reindex_column(conn: asyncpg.Connection, cipher: FieldCipher, index: BlindIndexColumn, *,
                         batch_size: int = 500) -> IndexCounts:
    counts = IndexCounts()
    after = None
    while True:
        async with conn.transaction():  # one per batch, as in rekey_column
            rows = await _batch(conn, index, after, batch_size)
            for row in rows:
                try:
                    clear = cipher.decrypt(row["value"], context=index.source.context(row["id"]))
                except CryptoError:
                    counts.failed += 1
                    continue
                new = cipher.blind_index(clear, purpose=index.purpose)
                if new == row["blind"]:
                    counts.unchanged += 1
                    continue
                outcome = await replace_index_if_unchanged(conn, index, row, new)
                setattr(counts, outcome, getattr(counts, outcome) + 1)
        if len(rows) < batch_size:
            return counts
        after = rows[-1]["id"]


async def reindex(conn: asyncpg.Connection, cipher: FieldCipher, indexes: Sequence[BlindIndexColumn], *,
                  batch_size: int = 500) -> dict[str, IndexCounts]:
    """Per "table.column": how many indexes were recomputed, already current, or left alone."""
    if batch_size < 1:
        raise ValueError("batch_size is at least 1")
    return {index.label: await reindex_column(conn, cipher, index, batch_size=batch_size) for index in indexes}

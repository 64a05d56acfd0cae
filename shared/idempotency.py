"""`Idempotency-Key` for create endpoints: a timeout is an unknown outcome, so a client
retries with the same key and gets the first answer instead of a second record.

Used inside the route's transaction: `begin` serialises requests with the same key
(a transaction-scoped advisory lock) and returns the stored response if there is one;
`remember` stores the response in the same transaction as the effect. `once` does all
three around a route's work, for the routes whose work fits in one function.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Awaitable, Callable

import asyncpg
from fastapi.encoders import jsonable_encoder

from shared.rules import RuleViolation

MAX_KEY_LENGTH = 200


def request_fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


async def begin(conn: asyncpg.Connection, principal: str, key: str, fingerprint: str) -> tuple[int, Any] | None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise RuleViolation("header.Idempotency-Key", f"1 to {MAX_KEY_LENGTH} characters")
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", principal, key)
    row = await conn.fetchrow(
        "SELECT request_hash, status_code, response FROM idempotency_keys WHERE principal = $1 AND idem_key = $2",
        principal, key)
    if row is None:
        return None
    if row["request_hash"] != fingerprint:
        raise RuleViolation("header.Idempotency-Key", "this key was already used with a different request")
    return row["status_code"], row["response"]


async def remember(conn: asyncpg.Connection, principal: str, key: str, fingerprint: str,
                   status_code: int, response: Any) -> None:
    await conn.execute(
        """INSERT INTO idempotency_keys (principal, idem_key, request_hash, status_code, response)
           VALUES ($1, $2, $3, $4, $5)""",
        principal, key, fingerprint, status_code, jsonable_encoder(response))


async def once(pool: asyncpg.Pool, principal: str, key: str | None, fingerprint: str,
               create: Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]]) -> tuple[int, Any]:
    """Runs `create(conn)` in one transaction and returns its (status, JSON body). With a
    key, a retry gets the first answer instead of running `create` again, and a new answer
    is remembered in the same transaction as its effect. An exception from `create` rolls
    everything back and is not remembered, so the client may retry once its cause is gone."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            if key is not None:
                stored = await begin(conn, principal, key, fingerprint)
                if stored is not None:
                    return stored
            status_code, body = await create(conn)
            body = jsonable_encoder(body)
            if key is not None:
                await remember(conn, principal, key, fingerprint, status_code, body)
    return status_code, body

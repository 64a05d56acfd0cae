"""Who is asking, in this request: its id and the authenticated actor.

The access log middleware gives every request an id (the caller's `X-Request-ID` when it is a
plain token, else a new one, echoed in the answer) and `require_principal` names the actor.
Both live in context variables, so that code far from the route — the audit of a read, the
database pool handing out a connection — can record them without being passed them.

On each pool acquire in a request with an actor, `bind_actor` puts the actor in the session
setting `shouhu.actor` (JSON: subject, roles, jurisdiction, request id); the change-history
trigger (shared/migrations/0020) reads it inside the write's own transaction. The pool's
`RESET ALL` on release clears it, so a worker's writes are recorded as the system's.
"""

from __future__ import annotations

import json
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

ACTOR_SETTING = "shouhu.actor"
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class Actor:
    subject: str
    roles: tuple[str, ...]
    jurisdiction: str


request_id_var: ContextVar[str | None] = ContextVar("shouhu_request_id", default=None)
actor_var: ContextVar[Actor | None] = ContextVar("shouhu_actor", default=None)


def new_request_id(offered: str | None) -> str:
    """The caller's id when it is a plain token (a gateway's trace id), else a fresh one."""
    if offered and _TOKEN.match(offered):
        return offered
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id_var.get()


def set_actor(subject: str, roles: frozenset[str] | tuple[str, ...], jurisdiction: str) -> None:
    actor_var.set(Actor(subject=subject, roles=tuple(sorted(roles)), jurisdiction=jurisdiction))


def actor_json() -> str | None:
    actor = actor_var.get()
    if actor is None:
        return None
    return json.dumps({"subject": actor.subject, "roles": list(actor.roles), "jurisdiction": actor.jurisdiction,
                       "request_id": request_id_var.get()}, ensure_ascii=False)


async def bind_actor(conn: Any) -> None:
    """Pool `setup`: before a request's connection is handed out, name its actor (one round
    trip, only for authenticated requests)."""
    value = actor_json()
    if value is not None:
        await conn.execute("SELECT set_config($1, $2, false)", ACTOR_SETTING, value)

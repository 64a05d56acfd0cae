"""Worker liveness as progress: a heartbeat file that is refreshed only while every loop moves.

A worker has no HTTP port of its own, so its liveness probe is a command
(`shouhu alive SERVICE`) that checks how old the heartbeat file is. The worker refreshes
the file every few seconds, but only while the relay and every consumer have passed
through their loop recently: a Kafka client stuck without raising, or a loop wedged on
something, stops the heartbeat, the probe fails, and the orchestrator restarts the process.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Protocol

from shared.logging import get_logger

log = get_logger("shared.liveness")

HEARTBEAT_INTERVAL_S = 5.0


class Loop(Protocol):
    name: str
    last_progress_monotonic: float


def stalled_loops(loops: list[Loop], *, now: float, stall_after_s: float) -> list[str]:
    return [loop.name for loop in loops if now - loop.last_progress_monotonic > stall_after_s]


async def keep_heartbeat(path: Path, loops: list[Loop], *, stall_after_s: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        stalled = stalled_loops(loops, now=time.monotonic(), stall_after_s=stall_after_s)
        if stalled:
            log.warning("worker.stalled", loops=stalled)
        else:
            path.write_text(f"{time.time():.0f}\n")
        await asyncio.sleep(HEARTBEAT_INTERVAL_S)


def heartbeat_age_s(path: Path) -> float | None:
    """Seconds since the heartbeat was last written; None if it never was."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None

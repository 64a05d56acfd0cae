"""The restore drill's PostgreSQL and Kafka side (bench/restore_drill.py): WAL archiving, the
base backup, a cluster recovered to a point in time, and consumer groups rewound to it."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import OffsetAndMetadata

from bench.chaos import PrivateInfra, _free_port
from shared.topics import topic_partitions

WAIT_S = 60.0  # every wait on a condition is bounded by this
R = TypeVar("R")


async def until(condition: Callable[[], Awaitable[R]], what: str, timeout: float = WAIT_S) -> R:
    """Polls until `condition` returns something truthy; raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await condition()
        if last:
            return last
        await asyncio.sleep(0.25)
    raise TimeoutError(f"not within {timeout:.0f} s: {what} (last: {last!r})")




class Postgres:
    """The drill's PostgreSQL side: archiving, the base backup and the restored cluster.

    The server runs as OS user postgres when we are root (as scripts/infra does), so the
    archive, the backup and the restored cluster live in a folder that user owns."""

    def __init__(self, infra: PrivateInfra, folder: Path) -> None:
        self.infra = infra
        self.port = int(infra.env["SHOUHU_PG_PORT"])
        self.folder = folder
        self.archive_g1, self.archive_g2 = folder / "archive-g1", folder / "archive-g2"
        self.base, self.restored = folder / "base", folder / "restored"
        self.restored_port = _free_port()
        self.bin = Path("/usr/lib/postgresql") / max(
            (p.name for p in Path("/usr/lib/postgresql").iterdir() if (p / "bin" / "pg_ctl").exists()),
            key=lambda v: int(v)) / "bin"

    def url(self, database: str, *, restored: bool = False) -> str:
        return f"postgresql://shouhu:shouhu@127.0.0.1:{self.restored_port if restored else self.port}/{database}"

    def _as_postgres(self, *args: str, timeout: float = 180) -> str:
        command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
        done = subprocess.run(command, cwd="/", capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PGPASSWORD": "shouhu"}, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr[-2000:]}")
        return done.stdout

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    async def enable_archiving(self) -> None:
        self.folder.chmod(0o755)
        self._own(self.folder)
        self._own(self.archive_g1)
        conn = await asyncpg.connect(self.url("postgres"), timeout=5)
        try:
            await conn.execute("ALTER SYSTEM SET archive_mode = 'on'")
            await conn.execute(f"ALTER SYSTEM SET archive_command = "
                               f"'test ! -f {self.archive_g1}/%f && cp %p {self.archive_g1}/%f'")
        finally:
            await conn.close()
        # archive_mode takes a restart (scripts/infra leaves postgresql.auto.conf alone).
        await asyncio.to_thread(self.infra.run, "postgres-down")
        await asyncio.to_thread(self.infra.run, "postgres-up")

    async def base_backup(self) -> None:
        await asyncio.to_thread(self._as_postgres, str(self.bin / "pg_basebackup"), "-D", str(self.base),
                                "-h", "127.0.0.1", "-p", str(self.port), "-U", "shouhu", "-c", "fast", "-X", "stream")

    async def archive_everything(self) -> str:
        """Closes the current WAL segment and waits until the archiver has copied it."""
        conn = await asyncpg.connect(self.url("postgres"), timeout=5)
        try:
            segment = await conn.fetchval("SELECT pg_walfile_name(pg_switch_wal())")

            async def archived() -> bool:
                last = await conn.fetchval("SELECT last_archived_wal FROM pg_stat_archiver")
                return last is not None and last[8:] >= segment[8:]
            await until(archived, f"WAL segment {segment} archived")
            return str(segment)
        finally:
            await conn.close()

    async def restore(self, target: datetime) -> None:
        """A new data directory from the base backup, recovered from g1 to `target`, promoted."""
        shutil.copytree(self.base, self.restored)
        self._own(self.archive_g2)
        sockets = self.folder / "restored-run"
        self._own(sockets)
        settings = {
            "port": str(self.restored_port), "unix_socket_directories": f"'{sockets}'",
            "restore_command": f"'cp {self.archive_g1}/%f %p'",
            "recovery_target_time": f"'{target.isoformat(sep=' ')}'",
            "recovery_target_action": "'promote'",
            # The next generation: a restored cluster never writes into the archive it read.
            "archive_command": f"'test ! -f {self.archive_g2}/%f && cp %p {self.archive_g2}/%f'",
        }
        with (self.restored / "postgresql.auto.conf").open("a") as conf:
            conf.write("\n# restore drill\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
        (self.restored / "recovery.signal").touch()
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.restored)], check=True)
        self.restored.chmod(0o700)
        await asyncio.to_thread(self._as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.restored),
                                "-l", str(self.folder / "restored.log"), "-w", "-t", "120", "start")

        async def promoted() -> bool:
            try:
                conn = await asyncpg.connect(self.url("postgres", restored=True), timeout=5)
            except (OSError, asyncpg.PostgresError):
                return False
            try:
                return not await conn.fetchval("SELECT pg_is_in_recovery()")
            finally:
                await conn.close()
        await until(promoted, "the restored cluster promoted")

    def stop_restored(self) -> None:
        if (self.restored / "postmaster.pid").exists():
            try:
                self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.restored), "-m", "fast", "-w", "-t", "60",
                                  "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.restored), "-m", "immediate", "stop")


async def rewind_groups(bootstrap: str, groups: dict[str, tuple[str, ...]], to: datetime) -> dict[str, int]:
    """Commits, for each (stopped) consumer group, the first offset at or after `to` on each of
    its partitions (the end where nothing is that new): what `kafka-consumer-groups.sh
    --reset-offsets --to-datetime` does. Returns how many records each group will read again."""
    again: dict[str, int] = {}
    for group, topics in groups.items():
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = await topic_partitions(consumer, topics)
            consumer.assign(partitions)
            found = await consumer.offsets_for_times({tp: int(to.timestamp() * 1000) for tp in partitions})
            ends = await consumer.end_offsets(partitions)
            offsets = {tp: found[tp].offset if found.get(tp) else ends[tp] for tp in partitions}
            # A group that still has a member (a worker not yet gone) refuses the commit: retried, bounded.
            deadline = time.monotonic() + WAIT_S
            while True:
                try:
                    await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()})
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(1)
            again[group] = sum(ends[tp] - offset for tp, offset in offsets.items())
        finally:
            await consumer.stop()
    return again

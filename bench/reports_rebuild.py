"""The reports' rebuild from offset 0 (goal: at least half the rate at which a bare
aiokafka consumer reads the same messages).

Setup (not timed): a throwaway database migrated like production and a fresh topic
namespace; `--children` children, each registered, with three contacts and three duties
scheduled (seven events a child), published by one producer.

Timed, in the same run:
- "rebuild": `services.reports.rebuild.rebuild`, from offset 0 into new tables, then switched in
  (one process per core, as `shouhu reports rebuild` runs);
- "raw": a bare AIOKafkaConsumer reading the same partitions from offset 0 to their ends.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import Goal, delete_topics, infrastructure, rule, unique_prefix
from services.reports.config import ReportsSettings
from services.reports.rebuild import TOPICS, rebuild
from shared.contracts import ChildRegistered, DutyScheduled, Jurisdiction, VisitLogged, encode
from shared.migrations import migrate
from shared.topics import ensure_topics, topic_partitions
from tests.support.databases import create_database, drop_database

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "reports" / "migrations"
GOAL_RATIO = 0.5
PLACE = Jurisdiction(county_code="330102000000", township_code="330102001000", village_code="330102001001")


def _events_of_a_child(month_count: int = 3) -> list:
    child = uuid.uuid4()
    events: list = [ChildRegistered(child_id=child, jurisdiction=PLACE, record_version=1)]
    for month in range(1, month_count + 1):
        events.append(VisitLogged(child_id=child, contact_id=uuid.uuid4(), caregiver_id=uuid.uuid4(),
                                  kind="home_visit", occurred_at=datetime(2025, month, 5, tzinfo=timezone.utc),
                                  jurisdiction=PLACE))
        events.append(DutyScheduled(child_id=child, duty_id=uuid.uuid4(), caregiver_id=uuid.uuid4(),
                                    duty_kind="talk", due_on=date(2025, month, 28), period_start=date(2025, month, 1),
                                    jurisdiction=PLACE))
    return events


async def _publish(bootstrap: str, prefix: str, children: int) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    sent = 0
    try:
        for _ in range(children):
            for event in _events_of_a_child():
                encoded = encode(event)
                await producer.send(prefix + encoded.topic, value=encoded.value, key=encoded.key.encode(),
                                    headers=[(k, v.encode()) for k, v in encoded.headers.items()])
                sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def _raw_read(bootstrap: str, prefix: str) -> tuple[int, float]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, [prefix + topic for topic in TOPICS])
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        started, read = time.perf_counter(), 0
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            read += sum(len(records) for records in batches.values())
        return read, time.perf_counter() - started
    finally:
        await consumer.stop()


def _cpu_seconds() -> float:
    """This process's CPU time and that of its children once ended (the rebuild's helper
    processes end before `rebuild` returns)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def run(children: int) -> list[Goal]:
    infra = infrastructure()
    rule(f"reports rebuild from offset 0: {children:,} children, {children * 7:,} events")
    url = await create_database(infra, "benchreportsrebuild")
    prefix = unique_prefix("rebuild")
    try:
        await migrate(url, "reports", MIGRATIONS)
        settings = ReportsSettings(database_url=url, kafka_bootstrap_servers=infra.kafka_bootstrap,
                                   kafka_topic_prefix=prefix, statement_timeout_ms=600_000)
        await ensure_topics(settings)
        started = time.perf_counter()
        sent = await _publish(infra.kafka_bootstrap, prefix, children)
        print(f"  published {sent:,} events in {time.perf_counter() - started:.1f} s (not timed)")
        cpu_before = _cpu_seconds()
        result = await rebuild(settings)
        rebuild_cpu = _cpu_seconds() - cpu_before
        cpu_before = _cpu_seconds()
        read, raw_s = await _raw_read(infra.kafka_bootstrap, prefix)
        raw_cpu, raw_rate = _cpu_seconds() - cpu_before, read / raw_s
        print("  phases: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result.phases.items()))
        print(f"  rebuild {result.applied:,} events in {result.seconds:6.2f} s = {result.rate:,.0f} events/s"
              f" (skipped {result.skipped})")
        print(f"  raw     {read:,} events in {raw_s:6.2f} s = {raw_rate:,.0f} events/s")
        print(f"  CPU per event (user + system, PostgreSQL's and Kafka's not counted): rebuild"
              f" {1e6 * rebuild_cpu / max(1, result.applied):.1f} µs in all its processes, raw"
              f" {1e6 * raw_cpu / max(1, read):.1f} µs (steadier than the rates on a shared machine)")
    finally:
        await drop_database(infra, url)
        await delete_topics(infra.kafka_bootstrap, [prefix])
    goals = [Goal("rebuild rate / raw consumer rate", result.rate / raw_rate, ">=", GOAL_RATIO)]
    for goal in goals:
        print("  " + goal.line(), flush=True)
    return goals


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rebuild-events", type=int, default=1_000_000,
                        help="events replayed, 7 a child (default 1,000,000)")


def main(args: argparse.Namespace) -> list[Goal]:
    from bench.common import quiet_logging

    quiet_logging()
    return asyncio.run(run(max(1, args.rebuild_events // 7)))


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m bench.reports_rebuild")
    add_arguments(cli)
    main(cli.parse_args())

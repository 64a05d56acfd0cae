"""The rebuild from offset 0 (services/reports/rebuild.py), in-process on real Kafka and
PostgreSQL: helper processes give the tables one process alone gives, redeliveries are
applied once, a pairing's end finds its start, a message of a type not known is skipped.
(`shouhu reports rebuild` beside a running worker, forked helpers and all, is in
tests/integration/test_reports_flow.py.)"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from services.reports import rebuild as rebuild_module
from services.reports.config import ReportsSettings
from services.reports.entry import ENTRY
from services.reports.rebuild import rebuild
from services.reports.store_rebuild import READ_MODEL_TABLES
from shared.contracts import ChildRegistered, DutyScheduled, Jurisdiction, PairingCreated, PairingEnded, VisitLogged
from shared.contracts.events import REGISTRY_TOPIC
from shared.topics import ensure_topics
from tests.support.databases import create_migrated_database, drop_database
from tests.support.plumbing import produce

PLACE = Jurisdiction(county_code="530102000000", township_code="530102003000", village_code="530102003004")
CHILDREN = 150
PAIRED = 20


def _story() -> tuple[list, list]:
    """Every child registered with two contacts and two duties; some paired and unpaired
    again. Returns (events, events that are delivered a second time)."""
    events: list = []
    for number in range(CHILDREN):
        child = uuid.uuid4()
        events.append(ChildRegistered(child_id=child, jurisdiction=PLACE, record_version=1))
        for month in (3, 4):
            events.append(VisitLogged(child_id=child, contact_id=uuid.uuid4(), caregiver_id=uuid.uuid4(),
                                      kind="home_visit", jurisdiction=PLACE,
                                      occurred_at=datetime(2026, month, 5, 9, tzinfo=timezone.utc)))
            events.append(DutyScheduled(child_id=child, duty_id=uuid.uuid4(), caregiver_id=uuid.uuid4(),
                                        duty_kind="talk", due_on=date(2026, month, 28),
                                        period_start=date(2026, month, 1), jurisdiction=PLACE))
        if number < PAIRED:
            pairing = dict(child_id=child, pairing_id=uuid.uuid4(), caregiver_id=uuid.uuid4(), jurisdiction=PLACE)
            events.append(PairingCreated(**pairing, started_on=date(2026, 3, 1)))
            events.append(PairingEnded(**pairing, ended_on=date(2026, 6, 30), reason="child_closed"))
    again = [event for event in events if isinstance(event, VisitLogged)][:PAIRED]
    return events, again


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def published(infra) -> AsyncIterator[tuple[str, int]]:
    """The story on a fresh topic prefix, and a message no reader knows; (prefix, messages)."""
    prefix = infra.new_topic_prefix("rebuild")
    url = await create_migrated_database(infra, "reports", ENTRY.migrations_dir)
    try:
        await ensure_topics(_settings(infra, url, prefix))
    finally:
        await drop_database(infra, url)
    events, again = _story()
    unknown = [(REGISTRY_TOPIC, b"someone", [("ce_specversion", b"1.0"), ("ce_id", str(uuid.uuid4()).encode()),
                                             ("ce_type", b"cn.shouhu.SomethingNew.v1"),
                                             ("ce_source", b"/shouhu/registry"),
                                             ("ce_time", b"2026-03-01T00:00:00+00:00")], b"{}")]
    sent = await produce(infra.kafka_bootstrap, prefix, events, raw=unknown)
    sent += await produce(infra.kafka_bootstrap, prefix, again)
    yield prefix, sent


def _settings(infra, url: str, prefix: str) -> ReportsSettings:
    return ReportsSettings(database_url=url, kafka_bootstrap_servers=infra.kafka_bootstrap, kafka_topic_prefix=prefix,
                           kafka_topic_partitions=3)


async def _tables(url: str) -> dict[str, list[tuple]]:
    conn = await asyncpg.connect(url)
    try:
        return {table: [tuple(row) for row in await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2, 3")]
                for table in READ_MODEL_TABLES}
    finally:
        await conn.close()


async def _rebuilt(infra, prefix: str, processes: int) -> tuple[rebuild_module.RebuildResult, dict[str, list[tuple]]]:
    url = await create_migrated_database(infra, "reports", ENTRY.migrations_dir)
    try:
        result = await rebuild(_settings(infra, url, prefix), processes=processes)
        return result, await _tables(url)
    finally:
        await drop_database(infra, url)


async def test_one_process_applies_each_fact_once(infra, published) -> None:
    prefix, sent = published
    result, tables = await _rebuilt(infra, prefix, processes=1)
    assert result.helpers == "none"
    assert (result.applied, result.skipped) == (sent - 1, 1)  # the redeliveries applied, and changed nothing
    counted = {table: len(rows) for table, rows in tables.items() if rows}
    assert counted == {"child_versions": CHILDREN, "contacts": 2 * CHILDREN, "duties": 2 * CHILDREN,
                       "pairings": PAIRED}
    assert all(row[11] == date(2026, 6, 30) for row in tables["pairings"])  # ended_on: each end found its start


@pytest.mark.parametrize("method", ["spawn", "fork"])
async def test_helper_processes_build_the_same_tables(infra, published, monkeypatch, method) -> None:
    """Forked only where this process has no other thread (as the CLI has none; pytest's
    worker has): here each way is chosen by hand."""
    prefix, _ = published
    alone, tables_alone = await _rebuilt(infra, prefix, processes=1)
    monkeypatch.setattr(rebuild_module, "_start_method", lambda: method)
    helped, tables_helped = await _rebuilt(infra, prefix, processes=2)
    assert helped.helpers == method
    assert (helped.applied, helped.skipped) == (alone.applied, alone.skipped)
    assert tables_helped == tables_alone


def test_helpers_are_forked_only_from_a_process_without_other_threads(monkeypatch) -> None:
    monkeypatch.setattr(rebuild_module.threading, "active_count", lambda: 2)
    assert rebuild_module._start_method() == "spawn"
    monkeypatch.setattr(rebuild_module.threading, "active_count", lambda: 1)
    assert rebuild_module._start_method() == "fork"

"""Retention of children's records (services/registry/retention.py, shared/erasure.py): with
the county's policy set, a record whose period ended is erased in the registry (tombstone,
personal fields cleared or the record deleted, an `erasures` row, ChildErased in the
outbox), and pairing, visits, notify and reports clear what they hold about the child when
they apply that event; a record within its period is untouched everywhere; a rerun is a
no-op. Times come from the services' clock, moved years ahead; never from today's date."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from services.notify.config import NotifySettings
from services.notify.handlers import build_handlers as notify_handlers
from services.pairing.handlers import registry_handlers as pairing_handlers
from services.registry import retention
from services.registry.domain_retention import ANONYMISED_NAME, years_before
from services.reports.handlers import REGISTRY_HANDLERS as reports_handlers
from services.visits.config import VisitsSettings
from services.visits.handlers import build_handlers as visits_handlers
from shared.clock import Clock
from shared.contracts import ChildErased, ChildRegistered, Envelope, Jurisdiction
from tests.registry.helpers import full_child_body, running_registry, staff_headers
from tests.support.auth import COUNTY, TOWNSHIP, VILLAGE
from tests.support.databases import create_migrated_database, drop_database
from tests.support.processes import REPO

SERVICES = Path(__file__).resolve().parents[2] / "services"
DOWNSTREAM = ("pairing", "visits", "notify", "reports")


def _clock_at(clock: Clock, instant: datetime) -> Clock:
    return dataclasses.replace(clock, fixed=instant, offset=timedelta(0))


def _envelope(event: Any, time: datetime) -> Envelope:
    return Envelope(id=uuid.uuid4(), type=event.cloudevent_type(), source=event.source,
                    subject=event.partition_key(), time=time, data=event)


def _handlers(service: str) -> dict:
    if service == "pairing":
        return pairing_handlers(Clock())
    if service == "visits":
        return visits_handlers(VisitsSettings())
    if service == "notify":
        return notify_handlers(NotifySettings())
    return reports_handlers


async def _apply(conn: asyncpg.Connection, service: str, envelope: Envelope) -> None:
    async with conn.transaction():
        await _handlers(service)[type(envelope.data)](conn, envelope)


async def _register(registry, **overrides: Any) -> dict:  # type: ignore[no-untyped-def]
    created = await registry.client.post("/v1/children", json=full_child_body(**overrides), headers=staff_headers())
    assert created.status_code == 201, created.text
    return created.json()


async def _close(registry, child: dict) -> None:  # type: ignore[no-untyped-def]
    closed = await registry.client.post(f"/v1/children/{child['id']}/close", headers=staff_headers(),
                                        json={"reason": "parents_returned", "version": child["version"]})
    assert closed.status_code == 200, closed.text


async def _seed_downstream(conns: dict[str, asyncpg.Connection], child_id: uuid.UUID, now: datetime) -> None:
    """What each service holds about a child: its projection, and the personal words and
    pictures visits, pairing and notify keep."""
    registered = ChildRegistered(child_id=child_id, record_version=1, age_band="6-11", categories=("left_behind",),
                                 jurisdiction=Jurisdiction(county_code=COUNTY, township_code=TOWNSHIP,
                                                           village_code=VILLAGE))
    for service in DOWNSTREAM:
        await _apply(conns[service], service, _envelope(registered, now))
    visits, pairing, notify = conns["visits"], conns["pairing"], conns["notify"]
    contact, concern, plan = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await visits.execute(
        """INSERT INTO contacts (id, child_id, caregiver_id, kind, occurred_at, county_code, township_code,
                                 village_code, place, location_enc, notes_enc, follow_ups_enc, logged_by)
           VALUES ($1, $2, $3, 'home_visit', $4, $5, $6, $7, '村口小卖部', 'v1.k.loc', 'v1.k.notes', 'v1.k.fu', 't')""",
        contact, child_id, uuid.uuid4(), now, COUNTY, TOWNSHIP, VILLAGE)
    await visits.execute("""INSERT INTO contact_photos (id, contact_id, slot, content_type, size_bytes, photo_enc,
                                                        stored_by, stored_at)
                            VALUES ($1, $2, 1, 'image/jpeg', 10, 'v1.k.photo', 't', $3)""", uuid.uuid4(), contact, now)
    await visits.execute(
        """INSERT INTO concerns (id, contact_id, child_id, category, severity, mandatory_report, detail_enc, raised_at,
                                 county_code, township_code, village_code, ack_note_enc, closure_note_enc)
           VALUES ($1, $2, $3, 'safety', 'high', false, 'v1.k.detail', $4, $5, $6, $7, 'v1.k.ack', 'v1.k.close')""",
        concern, contact, child_id, now, COUNTY, TOWNSHIP, VILLAGE)
    await visits.execute("""INSERT INTO concern_notes (id, concern_id, noted_on, note_enc, written_by, written_at)
                            VALUES ($1, $2, $3, 'v1.k.cnote', 't', $4)""", uuid.uuid4(), concern, now.date(), now)
    await visits.execute(
        """INSERT INTO plans (id, child_id, kind, title, goals_enc, owner_caregiver_id, owner_pairing_id, county_code,
                              township_code, village_code, created_by, created_at)
           VALUES ($1, $2, 'study', '数学补习', 'v1.k.goals', $3, $4, $5, $6, $7, 't', $8)""",
        plan, child_id, uuid.uuid4(), uuid.uuid4(), COUNTY, TOWNSHIP, VILLAGE, now)
    await visits.execute("""INSERT INTO plan_notes (id, plan_id, noted_on, note_enc, written_by, written_at)
                            VALUES ($1, $2, $3, 'v1.k.pnote', 't', $4)""", uuid.uuid4(), plan, now.date(), now)
    await pairing.execute(
        """INSERT INTO support_records (id, child_id, county_code, township_code, village_code, kind, amount_fen, item,
                                        fund, given_on, period_key, given_by_enc, created_by)
           VALUES ($1, $2, $3, $4, $5, 'in_kind', 0, '书包', '春蕾计划', $6, '2026', 'v1.k.giver', 't')""",
        uuid.uuid4(), child_id, COUNTY, TOWNSHIP, VILLAGE, now.date())
    for kind, recipient in (("caregiver", str(uuid.uuid4())), ("guardian", str(child_id))):
        await notify.execute(
            """INSERT INTO notifications (id, source_event_id, event_type, recipient_kind, recipient_id, channel,
                                          template, variables, child_id, county_code, township_code)
               VALUES ($1, $2, 'cn.shouhu.DutyDueSoon.v1', $3, $4, 'sms', 't', '{}', $5, $6, $7)""",
            uuid.uuid4(), uuid.uuid4(), kind, recipient, child_id, COUNTY, TOWNSHIP)


async def _personal_rows(conns: dict[str, asyncpg.Connection], child_id: uuid.UUID) -> dict[str, int]:
    """Rows still holding something personal about the child, per service and table."""
    queries = {
        "visits.contacts": ("visits", """SELECT count(*) FROM contacts WHERE child_id = $1 AND (notes_enc IS NOT NULL
                                          OR location_enc IS NOT NULL OR follow_ups_enc IS NOT NULL OR place IS NOT NULL)"""),
        "visits.contact_photos": ("visits", """SELECT count(*) FROM contact_photos p JOIN contacts c ON c.id = p.contact_id
                                                WHERE c.child_id = $1"""),
        "visits.concerns": ("visits", """SELECT count(*) FROM concerns WHERE child_id = $1 AND (detail_enc IS NOT NULL
                                          OR ack_note_enc IS NOT NULL OR closure_note_enc IS NOT NULL)"""),
        "visits.concern_notes": ("visits", """SELECT count(*) FROM concern_notes n JOIN concerns c ON c.id = n.concern_id
                                               WHERE c.child_id = $1"""),
        "visits.plans": ("visits", "SELECT count(*) FROM plans WHERE child_id = $1 AND goals_enc IS NOT NULL"),
        "visits.plan_notes": ("visits", """SELECT count(*) FROM plan_notes n JOIN plans p ON p.id = n.plan_id
                                            WHERE p.child_id = $1"""),
        "pairing.support_records": ("pairing", """SELECT count(*) FROM support_records WHERE child_id = $1
                                                   AND (item IS NOT NULL OR given_by_enc IS NOT NULL)"""),
        "notify.notifications": ("notify", "SELECT count(*) FROM notifications WHERE child_id = $1"),
        "reports.child_versions": ("reports", """SELECT count(*) FROM child_versions WHERE child_id = $1
                                                  AND village_code IS NOT NULL"""),
    }
    return {name: await conns[service].fetchval(sql, child_id) for name, (service, sql) in queries.items()}


def _retention_cli(url: str, clock_now: datetime, *args: str) -> dict:
    env = {"PATH": "/usr/bin:/bin", "SHOUHU_REGISTRY_DATABASE_URL": url, "SHOUHU_CLOCK_NOW": clock_now.isoformat()}
    done = subprocess.run([sys.executable, "-m", "shared.cli", "retention", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


async def _erased_events(conn: asyncpg.Connection) -> list[dict]:
    rows = await conn.fetch("SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id",
                            ChildErased.cloudevent_type())
    return [json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"] for row in rows]


async def test_children_past_retention_are_erased_everywhere_and_others_untouched(infra) -> None:
    urls = {service: await create_migrated_database(infra, service, SERVICES / service / "migrations")
            for service in DOWNSTREAM}
    conns = {service: await asyncpg.connect(url) for service, url in urls.items()}
    try:
        async with running_registry(infra) as registry:
            clock = registry.settings.clock
            now = clock.now()
            headers = staff_headers()
            # No policy yet: records are kept for ever.
            policy = await registry.client.get("/v1/retention-policy", headers=headers)
            assert policy.status_code == 200 and policy.json()["years_after_closing"] is None
            closed = await _register(registry)
            kept = await _register(registry)      # closed later: still within its period
            adult = await _register(registry)     # never closed, but 18 long ago
            active = await _register(registry)    # a minor, active: untouched
            await registry.client.post(f"/v1/children/{closed['id']}/growth-notes", headers=headers,
                                       json={"noted_on": clock.today().isoformat(), "area": "study", "text": "数学进步"})
            await _close(registry, closed)
            later = _clock_at(clock, now + timedelta(days=800))
            async with registry.pool.acquire() as conn:
                # `kept` was closed two years after `closed`; `adult` was born 18 + 3 years and a day
                # before the day the job runs (the clock's, five years and two days ahead).
                await conn.execute("UPDATE children SET status = 'closed', status_changed_at = $2 WHERE id = $1",
                                   uuid.UUID(kept["id"]), later.now())
            run_at = _clock_at(clock, now + timedelta(days=5 * 366 + 2))
            await registry.fetch("UPDATE children SET birth_date = $2 WHERE id = $1", uuid.UUID(adult["id"]),
                                 years_before(run_at.today(), 21) - timedelta(days=1))

            # Only a county-wide administrator sets it; a township's staff may not.
            township = await registry.client.put("/v1/retention-policy", headers=staff_headers(TOWNSHIP),
                                                 json={"years_after_closing": 5})
            assert township.status_code == 403
            set_policy = await registry.client.put("/v1/retention-policy", headers=headers, json={
                "years_after_closing": 5, "years_after_adulthood": 3, "action": "anonymise"})
            assert set_policy.status_code == 200, set_policy.text
            assert set_policy.headers["ETag"] == '"1"'

            for child in (closed, kept, adult, active):
                await _seed_downstream(conns, uuid.UUID(child["id"]), now)

            # Dry run: counts, nothing changed.
            counted = _retention_cli(registry.database_url, run_at.now(), "--dry-run")
            assert (counted["closed"], counted["adulthood"], counted["due"]) == (1, 1, 2)
            assert await registry.fetchval("SELECT count(*) FROM children WHERE erased_at IS NOT NULL") == 0

            # Just before the period ends for `closed`, nothing is due on that ground.
            async with registry.pool.acquire() as conn:
                early = await retention.dry_run(conn, _clock_at(clock, now + timedelta(days=5 * 365 - 3)))
            assert early["closed"] == 0

            assert await retention.erase_due(registry.pool, run_at) == 2
            assert await retention.erase_due(registry.pool, run_at) == 0  # a rerun finds nothing

            erased_ids = {uuid.UUID(closed["id"]), uuid.UUID(adult["id"])}
            rows = {row["id"]: row for row in await registry.fetch("SELECT * FROM children")}
            for child_id in erased_ids:
                row = rows[child_id]
                assert row["name"] == ANONYMISED_NAME and row["erased_at"] == run_at.now()
                assert all(row[f"{f}_enc"] is None for f in ("national_id", "address", "sensitive", "priority_reason",
                                                                "contact_card", "particulars"))
                assert row["national_id_index"] is None and row["village_code"] is None
                assert (row["birth_date"].month, row["birth_date"].day) == (1, 1)
            for child_id in (uuid.UUID(kept["id"]), uuid.UUID(active["id"])):
                assert rows[child_id]["erased_at"] is None and rows[child_id]["contact_card_enc"] is not None
                assert rows[child_id]["name"] != ANONYMISED_NAME
            assert await registry.fetchval("SELECT count(*) FROM growth_notes WHERE child_id = $1",
                                           uuid.UUID(closed["id"])) == 0
            tombstones = {row["child_id"]: row for row in await registry.fetch("SELECT * FROM child_tombstones")}
            assert set(tombstones) == erased_ids
            assert tombstones[uuid.UUID(closed["id"])]["basis"] == "closed"
            assert tombstones[uuid.UUID(adult["id"])]["basis"] == "adulthood"
            trail = await registry.fetch("SELECT child_id, action, erased_by FROM erasures")
            assert {(r["child_id"], r["action"], r["erased_by"]) for r in trail} == {
                (child_id, "anonymise", "system:retention") for child_id in erased_ids}
            # Who changed the record, in the change history: the system, by these fields' names.
            changes = await registry.fetch(
                "SELECT actor_subject, fields FROM change_history WHERE record_kind = 'child' AND record_id = $1"
                " AND operation = 'update' ORDER BY id DESC LIMIT 1", closed["id"])
            assert changes[0]["actor_subject"] == "system" and "contact_card_enc" in changes[0]["fields"]
            # An anonymised record is read-only.
            reopen = await registry.client.post(f"/v1/children/{closed['id']}/reopen", headers=headers,
                                                json={"version": rows[uuid.UUID(closed["id"])]["version"]})
            assert reopen.status_code == 409

            async with registry.pool.acquire() as conn:
                events = await _erased_events(conn)
            assert sorted(e["child_id"] for e in events) == sorted(str(c) for c in erased_ids)
            assert all(set(e) == {"child_id", "action"} for e in events)  # nothing personal
            # The record due by age that nobody closed was closed first, so that pairings end.
            async with registry.pool.acquire() as conn:
                closings = [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"]
                            for r in await conn.fetch("SELECT payload FROM outbox WHERE event_type = $1",
                                                      "cn.shouhu.ChildClosed.v1")]
            assert [(c["child_id"], c["reason"]) for c in closings if c["child_id"] == adult["id"]] == [
                (adult["id"], "aged_out")]
            assert rows[uuid.UUID(adult["id"])]["status"] == "closed"

            # Downstream: each service applies the events (twice: the second is a no-op).
            for event in events:
                envelope = _envelope(ChildErased(**event), run_at.now())
                for service in DOWNSTREAM:
                    await _apply(conns[service], service, envelope)
                    await _apply(conns[service], service, _envelope(envelope.data, run_at.now()))
            for child_id in erased_ids:
                assert set((await _personal_rows(conns, child_id)).values()) == {0}
                for service in DOWNSTREAM:
                    assert await conns[service].fetchval(
                        "SELECT count(*) FROM erasures WHERE child_id = $1", child_id) == 1, service
            visits_counts = json.loads(await conns["visits"].fetchval(
                "SELECT counts FROM erasures WHERE child_id = $1", uuid.UUID(closed["id"])))
            assert visits_counts["contact_photos"] == 1 and visits_counts["plan_notes"] == 1
            # Statistics keep counting them: the contact, concern and plan are still there.
            assert await conns["visits"].fetchval("SELECT count(*) FROM contacts WHERE child_id = $1",
                                                  uuid.UUID(closed["id"])) == 1
            for child in (kept, active):
                still = await _personal_rows(conns, uuid.UUID(child["id"]))
                assert all(count >= 1 for name, count in still.items()), still
                for service in DOWNSTREAM:
                    assert await conns[service].fetchval(
                        "SELECT count(*) FROM erasures WHERE child_id = $1", uuid.UUID(child["id"])) == 0

            # Purge: the county changes the action; `kept` reaches its end two years later.
            changed = await registry.client.put("/v1/retention-policy", json={
                "years_after_closing": 5, "years_after_adulthood": 3, "action": "purge"},
                headers={**headers, "If-Match": set_policy.headers["ETag"]})
            assert changed.status_code == 200 and changed.json()["version"] == 2
            purge_at = _clock_at(clock, later.now() + timedelta(days=5 * 366 + 2))
            assert await retention.erase_due(registry.pool, purge_at) == 1
            assert await registry.fetchval("SELECT count(*) FROM children WHERE id = $1", uuid.UUID(kept["id"])) == 0
            assert await registry.fetchval("SELECT action FROM child_tombstones WHERE child_id = $1",
                                           uuid.UUID(kept["id"])) == "purge"
            assert await registry.fetchval("SELECT count(*) FROM children WHERE id = $1",
                                           uuid.UUID(active["id"])) == 1
            assert await retention.erase_due(registry.pool, purge_at) == 0
    finally:
        for service, conn in conns.items():
            await conn.close()
            await drop_database(infra, urls[service])

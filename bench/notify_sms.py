"""Notify's SMS delivery throughput, as a ratio of the SMS provider's raw request rate.

The provider is a real HTTP server (a minimal ASGI app under uvicorn) in its own process on
127.0.0.1, answering every POST with 200 and a message id, as a fast SMS gateway would.

Baseline ("raw"): an httpx client with notify's connection limits POSTs N messages of the
same shape notify sends (JSON body, Idempotency-Key header) with notify's concurrency
(`delivery_concurrency`), as fast as the provider takes them.

Measured ("notify"): N SMS notifications to staff recipients are written first (not timed:
that is the consumer's work); then the delivery loop (`DeliveryLoop.run_once`, production
defaults) is timed until all N are `sent`: claiming under the rate limit with FOR UPDATE SKIP
LOCKED, decrypting the staff addresses, validating numbers, rendering the zh-CN template,
calling the provider, and recording each outcome with its NotificationSent in the outbox.

The raw run is done before and after the notify run and the faster is the baseline.
`python -m bench.notify_sms [--messages N]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import uuid

import httpx

from bench.common import Goal, infrastructure, quiet_logging, rule
from services.notify import store, store_admin
from services.notify.channels.factory import build_adapters
from services.notify.config import NotifySettings
from services.notify.delivery import DeliveryLoop
from services.notify.domain import notification_id, PlannedNotification
from services.notify.entry import ENTRY
from shared.crypto import FieldCipher
from shared.db import create_pool
from tests.support.databases import create_migrated_database, drop_database
from tests.support.processes import free_port

GOAL_RATIO = 0.5
TIME_LIMIT_S = 90.0
TOWNSHIP = "330102001000"


# -- the provider (runs in a child process) ------------------------------------------------

async def _provider_app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"id":"gw"}'})


def serve_provider(port: int) -> None:
    import uvicorn

    uvicorn.run(_provider_app, host="127.0.0.1", port=port, log_level="error", access_log=False, lifespan="off")


def start_provider() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.notify_sms", "--provider", str(port)])
    url = f"http://127.0.0.1:{port}/sms"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.post(url, json={}, timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("bench: the fake SMS provider did not start")


# -- the two runs -------------------------------------------------------------------------

async def raw_rate(url: str, messages: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        async def one(n: int) -> None:
            async with gate:
                key = str(uuid.uuid4())
                response = await client.post(url, headers={"Idempotency-Key": key}, json={
                    "to": "+8613800138000", "text": "温馨提醒：您有一项家访将于2026-12-01到期，请按时完成并记录。",
                    "message_id": key})
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(messages)))
        return messages / (time.perf_counter() - started)


async def prepare(pool, cipher: FieldCipher, messages: int) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        await store.seed_defaults(conn)
        rid = uuid.uuid4()
        await store_admin.insert_staff(
            conn, recipient_id=rid, staff_id="bench-staff", jurisdiction=TOWNSHIP, level="township", school_id=None,
            channels=["sms"], contacts_enc=cipher.encrypt(json.dumps({"sms": "+8613800138000"}),
                                                          context=f"staff_recipients.contacts:{rid}"))
        geo = {"county_code": "330102000000", "township_code": TOWNSHIP, "village_code": None}
        async with conn.transaction():
            for _ in range(messages):
                event_id = uuid.uuid4()
                await store.insert_notification(conn, PlannedNotification(
                    id=notification_id(event_id, "staff", "bench-staff", "sms"), source_event_id=event_id,
                    event_type="ContactOverdue", recipient_kind="staff", recipient_id="bench-staff", channel="sms",
                    template="contact_overdue_staff", child_id=uuid.uuid4(),
                    variables={"duty": "home_visit", "due_on": "2026-11-01", "days_overdue": 3, "level": "township",
                               "ref": "3f2a9c1b"},
                    urgent=False, quiet_start=None, quiet_end=None, quiet_timezone=None), geo, delivered_in_app=False)


async def notify_rate(settings: NotifySettings, url: str, messages: int) -> float:
    pool = await create_pool(settings)
    cipher = FieldCipher.development()
    try:
        await prepare(pool, cipher, messages)
        limits = httpx.Limits(max_connections=settings.delivery_concurrency * 2,
                              max_keepalive_connections=settings.delivery_concurrency)
        async with httpx.AsyncClient(timeout=settings.provider_timeout_s, limits=limits) as client:
            loop = DeliveryLoop(settings, pool, adapters=build_adapters(settings, client), contacts=None,  # type: ignore[arg-type]
                                cipher=cipher)
            started = time.perf_counter()
            while loop.sent_total < messages and time.perf_counter() - started < TIME_LIMIT_S:
                if await loop.run_once() == 0:
                    await asyncio.sleep(0.005)
            elapsed = time.perf_counter() - started
        async with pool.acquire() as conn:
            sent = await conn.fetchval("SELECT count(*) FROM notifications WHERE status = 'sent'")
            events = await conn.fetchval("SELECT count(*) FROM outbox")
        if sent != messages or events != messages:
            raise SystemExit(f"bench: {sent} of {messages} sent, {events} NotificationSent events")
        return messages / elapsed
    finally:
        await pool.close()


async def run(messages: int) -> list[Goal]:
    infra = infrastructure()
    rule(f"notify SMS delivery ({messages} messages)")
    provider, url = start_provider()
    database_url = await create_migrated_database(infra, "notify", ENTRY.migrations_dir)
    try:
        settings = NotifySettings(database_url=database_url, sms_http_url=url)
        raw_before = await raw_rate(url, messages, settings.delivery_concurrency)
        measured = await notify_rate(settings, url, messages)
        raw_after = await raw_rate(url, messages, settings.delivery_concurrency)
    finally:
        provider.terminate()
        provider.wait(timeout=10)
        await drop_database(infra, database_url)
    raw = max(raw_before, raw_after)
    print(f"  provider raw: {raw_before:.0f} / {raw_after:.0f} requests/s (before / after), baseline {raw:.0f}")
    print(f"  notify:       {measured:.0f} notifications/s delivered and recorded "
          f"(batch {settings.delivery_batch_size}, concurrency {settings.delivery_concurrency})")
    goal = Goal("notify SMS throughput / raw provider rate", measured / raw, ">=", GOAL_RATIO)
    print(f"  {goal.line()}")
    return [goal]


def add_arguments(cli: argparse.ArgumentParser) -> None:
    cli.add_argument("--messages", type=int, default=2000)
    cli.add_argument("--provider", type=int, default=None, help=argparse.SUPPRESS)


def main(args: argparse.Namespace) -> list[Goal]:
    if args.provider is not None:
        serve_provider(args.provider)
        return []
    quiet_logging()
    return asyncio.run(run(args.messages))


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m bench.notify_sms")
    add_arguments(cli)
    main(cli.parse_args())

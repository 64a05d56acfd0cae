"""The delivery loop (runs in the worker): claim due notifications, send, record the outcome.

No transaction is open while a provider is called:
1. claim — one short transaction: per channel, take the rate-limit window's allowance, lock
   due rows with FOR UPDATE SKIP LOCKED (replicas never take the same row), defer those in
   their recipient's quiet hours, and commit the rest as 'sending' with a lease;
2. send — resolve the address (staff: decrypted here; caregivers and guardians: asked of
   pairing / registry now, never stored), render the template with the child's name and the
   names of the township, village and school (asked of the registry now, once per pass for
   all its messages; if the registry cannot answer, the message waits and is retried: it is
   never sent without the name), call the adapter;
3. record — one short transaction per message: sent, retry later (exponential backoff with
   jitter), failed (will never work) or dead (gave up after N attempts), with its event.
A worker that dies mid-send leaves a 'sending' row whose lease expires; it is claimed again.
The delivery id is passed as the provider's out-id / idempotency key, so such a resend can
be recognised by providers that support it.

Logs carry ids, channels and reasons only: never an address or a message text.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import datetime, timedelta
from typing import Any, Callable

import asyncpg

from services.notify import delivery_names, store, store_delivery, store_family, store_held
from services.notify.commands_family import NOTE_TEMPLATE, NOTE_VARIABLE
from services.notify.channels.base import ChannelAdapter, OutgoingMessage, SendResult
from services.notify.config import NotifySettings
from services.notify.contacts import ChildDetails, ContactLookupFailed, ContactSource
from services.notify.domain_delivery import (
    AddressError, allowance, backoff_seconds, check_email, check_webhook_url, normalise_mobile, quiet_until,
)
from services.notify.domain_templates import CAREGIVER_NAME, CHILD_NAME, UNNAMED_CAREGIVER, localise, \
    pick_template, place_variables, render, uses_child_details, uses_variable
from services.notify.handlers import NotifyHandlers
from services.notify.encrypted_columns import FAMILY_NOTE, STAFF_CONTACTS, WEBHOOK_SECRET, WEBHOOK_URL
from shared import outbox
from shared.contracts import FamilyNoteSent, Jurisdiction, NotificationFailed, NotificationSent
from shared.crypto import CryptoError, FieldCipher
from shared.logging import get_logger
from shared.resilience import UNAVAILABLE, OutageLog
from shared.worker_metrics import WorkerMetrics

log = get_logger("notify.delivery")

Clock = Callable[[], datetime]
HELD_RECHECK_S = 30


class DeliveryLoop:
    def __init__(self, settings: NotifySettings, pool: asyncpg.Pool, *, adapters: dict[str, ChannelAdapter],
                 contacts: ContactSource, cipher: FieldCipher, now: Clock | None = None,
                 rng: random.Random | None = None, metrics: WorkerMetrics | None = None) -> None:
        self._settings = settings
        self._pool = pool
        self._adapters = adapters
        self._contacts = contacts
        self._cipher = cipher
        # The settings' clock (shared/clock.py) unless a test hands in its own.
        self._now = now or (lambda: settings.clock.now())
        self._rng = rng or random.Random()
        self._limits = {"sms": settings.rate_sms_per_minute, "email": settings.rate_email_per_minute,
                        "wecom": settings.rate_wecom_per_minute, "dingtalk": settings.rate_dingtalk_per_minute,
                        "webhook": settings.rate_webhook_per_minute}
        self._sending = asyncio.Semaphore(settings.delivery_concurrency)
        self._handlers = NotifyHandlers(settings)
        self._next_recheck: datetime | None = None
        self.sent_total = 0
        self._metrics = metrics or WorkerMetrics(settings.service_name)

    async def run(self) -> None:
        database = OutageLog("delivery.database")  # one line when it goes, one when it is back
        while True:
            try:
                claimed = await self.run_once()
                database.ok()
            except (asyncpg.PostgresError, *UNAVAILABLE) as exc:
                await asyncio.sleep(database.failed(exc))
                continue
            if claimed < self._settings.delivery_batch_size:
                await asyncio.sleep(self._settings.delivery_poll_interval_s)

    async def run_once(self) -> int:
        """One pass: claim what is due now, send it all, record every outcome. Returns how many."""
        now = self._now()
        await self._settle_held(now)
        claimed = await self._claim(now)
        if not claimed:
            return 0
        context = await self._context(claimed)
        results = await asyncio.gather(*(self._deliver(row, context) for row in claimed))
        await self._record_all(list(zip(claimed, results)))
        return len(claimed)

    # -- 0. what was held for a missing provider or recipient ----------------------------------

    async def _settle_held(self, now: datetime) -> None:
        """Messages on a channel this loop has no provider for are held (no_provider), not
        left pending for ever; held ones whose channel has a provider here go back to
        pending; routings held for want of a recipient are planned again if one exists now."""
        configured = sorted(self._adapters)
        # Planning held routings again costs a few queries each: every half minute is soon
        # enough for a recipient someone just registered.
        recheck = self._next_recheck is None or now >= self._next_recheck
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                released = await store_held.release_provided(conn, configured, now)
                held = await store_held.hold_unprovided(conn, configured, now)
                routings = await self._handlers.release_held(conn) if recheck else 0
        if recheck:
            self._next_recheck = now + timedelta(seconds=HELD_RECHECK_S)
        for row in held:
            log.warning("notification held", notification_id=str(row["id"]), channel=row["channel"],
                        reason="no_provider")
        if released or routings:
            log.info("held deliveries released", messages=released, routings=routings)

    # -- 1. claim ---------------------------------------------------------------------------

    async def _claim(self, now: datetime) -> list[asyncpg.Record]:
        claimed: list[asyncpg.Record] = []
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                for channel in self._adapters:
                    limit = self._limits.get(channel, float("inf"))
                    room = self._settings.delivery_batch_size
                    if limit != float("inf"):
                        room = min(room, allowance(limit, await store_delivery.sent_in_window(conn, channel, now)))
                    if room <= 0:
                        continue
                    rows = await store_delivery.due(conn, channel, now, room)
                    deferred, ready = [], []
                    for row in rows:
                        until = quiet_until(now, row["quiet_start"], row["quiet_end"],
                                            row["quiet_timezone"] or self._settings.county_timezone)
                        (deferred.append((row["id"], until)) if until else ready.append(row["id"]))
                    if deferred:
                        await store_delivery.defer(conn, deferred)
                    if ready:
                        claimed += await store_delivery.mark_sending(conn, ready, now, self._settings.delivery_lease_s)
                        await store_delivery.record_claims(conn, channel, now, len(ready))
        return claimed

    async def _context(self, rows: list[asyncpg.Record]) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            context = {
                "templates": await store.templates_for(conn, sorted({r["template"] for r in rows})),
                "staff": await store_delivery.staff_contacts(
                    conn, [r["recipient_id"] for r in rows if r["recipient_kind"] == "staff"]),
                "webhooks": await store_delivery.webhook_targets(
                    conn, [r["recipient_id"] for r in rows if r["recipient_kind"] == "system"]),
                "notes": await store_family.note_bodies(
                    conn, [r["source_event_id"] for r in rows if r["template"] == NOTE_TEMPLATE]),
            }
        # Names composed into the text now, asked of their owners; None: they could not answer.
        context["names"] = await delivery_names.children(self._contacts, rows, context["templates"])
        context["caregivers"] = await delivery_names.caregivers(self._contacts, rows, context["templates"])
        return context

    # -- 2. send ----------------------------------------------------------------------------

    async def _deliver(self, row: asyncpg.Record, context: dict[str, Any]) -> SendResult:
        async with self._sending:
            try:
                return await self._attempt(row, context)
            except Exception as exc:  # a bug in one message must not stop the others
                log.error("delivery.unexpected_error", notification_id=str(row["id"]), error=type(exc).__name__)
                return SendResult.retry("other")

    async def _attempt(self, row: asyncpg.Record, context: dict[str, Any]) -> SendResult:
        channel = row["channel"]
        try:
            address = await self._address(row, context)
        except ContactLookupFailed:
            return SendResult.retry("provider_error")
        except AddressError:
            return SendResult.give_up("invalid_address")
        if address is None:
            return SendResult.give_up("no_address")
        message = self._message(row, address, context["templates"].get(row["template"], {}), context["names"],
                                context["caregivers"], context["notes"])
        if isinstance(message, SendResult):
            return message
        try:
            return await asyncio.wait_for(self._adapters[channel].send(message),
                                          self._settings.provider_timeout_s * 2)
        except asyncio.TimeoutError:
            return SendResult.retry("timeout")

    async def _address(self, row: asyncpg.Record, context: dict[str, Any]) -> Any:
        kind, channel = row["recipient_kind"], row["channel"]
        if kind == "caregiver":
            address = (await self._contacts.caregiver(row["recipient_id"])).get(channel)
        elif kind == "guardian" and row["recipient_id"] != str(row["child_id"]):
            # A family member who opted in, by the registry's guardian or parent entry id.
            address = (await self._contacts.family_member(str(row["child_id"]), row["recipient_id"])).get(channel)
        elif kind == "guardian":  # messages planned before families opted in: the first guardian
            address = (await self._contacts.guardian(str(row["child_id"]))).get(channel)
        elif kind == "staff":
            staff = context["staff"].get(row["recipient_id"])
            if staff is None:
                return None
            try:
                contacts = json.loads(self._cipher.decrypt(staff["contacts_enc"],
                                                           context=STAFF_CONTACTS.context(staff["id"])))
            except CryptoError:
                return None
            address = contacts.get(channel)
        elif kind == "system":
            hook = context["webhooks"].get(row["recipient_id"])
            if hook is None or not hook["active"]:
                return None
            sid = row["recipient_id"]
            address = {"url": self._cipher.decrypt(hook["url_enc"], context=WEBHOOK_URL.context(sid)),
                       "secret": self._cipher.decrypt(hook["secret_enc"], context=WEBHOOK_SECRET.context(sid))}
        else:
            return None
        return self._validated(channel, address) if address else None

    def _validated(self, channel: str, address: Any) -> Any:
        if channel == "sms":
            return normalise_mobile(str(address))
        if channel == "email":
            return check_email(str(address))
        if channel in ("wecom", "dingtalk", "webhook"):
            if isinstance(address, str):
                address = {"url": address}
            check_webhook_url(address["url"], allow_loopback_http=self._settings.allow_loopback_http)
        return address

    def _message(self, row: asyncpg.Record, address: Any, templates: dict, names: dict[str, ChildDetails] | None,
                 caregivers: dict[str, str] | None = None,
                 notes: dict[str, str] | None = None) -> OutgoingMessage | SendResult:
        locale = self._settings.default_locale
        common = dict(delivery_id=str(row["id"]), channel=row["channel"], address=address, template=row["template"],
                      event_type=row["event_type"], source_event_id=str(row["source_event_id"]),
                      child_id=str(row["child_id"]) if row["child_id"] else None)
        if row["channel"] == "webhook":
            return OutgoingMessage(payload=row["payload"], **common)
        chosen = pick_template(templates, locale, row["channel"])
        if chosen is None:
            return SendResult.give_up("other")
        variables = dict(row["variables"] or {})
        if row["template"] == NOTE_TEMPLATE:  # a caregiver's note: its text, from its own row
            note_id = str(row["source_event_id"])
            token = (notes or {}).get(note_id)
            if token is None:
                return SendResult.give_up("other")
            try:
                variables[NOTE_VARIABLE] = self._cipher.decrypt(token, context=FAMILY_NOTE.context(note_id))
            except CryptoError:
                return SendResult.retry("other")  # a key not configured here yet: later, not lost
        if uses_child_details(chosen):
            if names is None:  # the registry did not answer: later, with the names
                return SendResult.retry("provider_error")
            child = names.get(str(row["child_id"]))
            if child is None:  # the registry shows us no such child: nothing to name
                return SendResult.give_up("other")
            variables[CHILD_NAME] = child.name
            variables.update(place_variables(child.township, child.village, child.school,
                                             township_code=row["township_code"], locale=chosen.locale))
        if uses_variable(chosen, CAREGIVER_NAME):
            if caregivers is None:  # pairing did not answer: later, with the name
                return SendResult.retry("provider_error")
            variables[CAREGIVER_NAME] = caregivers.get(str(variables.get("caregiver_id")),
                                                       UNNAMED_CAREGIVER.get(chosen.locale, UNNAMED_CAREGIVER["en"]))
        return OutgoingMessage(subject=render(chosen.subject or "", variables, chosen.locale),
                               text=render(chosen.body, variables, chosen.locale),
                               variables=localise(variables, chosen.locale), **common)

    # -- 3. record --------------------------------------------------------------------------

    async def _record_all(self, outcomes: list[tuple[asyncpg.Record, SendResult]]) -> None:
        """All outcomes of a pass in one transaction (one commit, not one per message). It is
        retried a few times: a message sent but not recorded would be sent again when its
        lease expires, which is exactly what this step exists to prevent."""
        for attempt in range(1, 4):
            try:
                async with self._pool.acquire() as conn:
                    async with conn.transaction():
                        recorded = [await self._record(conn, row, result) for row, result in outcomes]
                self.sent_total += recorded.count("sent")
                for (row, _), outcome in zip(outcomes, recorded):
                    self._metrics.delivery(row["channel"], outcome)
                return
            except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
                log.warning("delivery.record_failed", error=type(exc).__name__, attempt=attempt,
                            messages=len(outcomes))
                await asyncio.sleep(0.2 * 2 ** attempt)
        # Still failing: the leases expire and these are claimed again — late, never lost.

    async def _note_sent(self, conn: asyncpg.Connection, row: asyncpg.Record, now: datetime) -> None:
        """A caregiver's note to a family went out: the figure reports counts (ids and codes)."""
        note = await store_family.note_facts(conn, row["source_event_id"])
        if note is None:
            return
        await outbox.add(conn, FamilyNoteSent(
            letter_id=note["id"], notification_id=row["id"], child_id=note["child_id"],
            caregiver_id=note["caregiver_id"], member_kind=note["member_kind"],
            jurisdiction=Jurisdiction(county_code=row["county_code"], township_code=row["township_code"],
                                      village_code=row["village_code"]),
            school_id=row["school_id"], sent_at=now))

    async def _record(self, conn: asyncpg.Connection, row: asyncpg.Record, result: SendResult) -> str:
        """Writes one outcome and its event; returns it ("sent", "retry", "failed", "dead"). A
        row whose claim this worker no longer holds (its lease expired and another took it) is
        left alone ("lease_lost")."""
        now = self._now()
        attempts = row["attempts"]
        if result.ok:
            if await store_delivery.mark_sent(conn, row["id"], attempts, now, result.provider_ref) is None:
                return "lease_lost"
            await outbox.add(conn, NotificationSent(
                notification_id=row["id"], source_event_id=row["source_event_id"], child_id=row["child_id"],
                channel=row["channel"], recipient_kind=row["recipient_kind"], template=row["template"][:64],
                sent_at=now, attempts=attempts))
            if row["template"] == NOTE_TEMPLATE:
                await self._note_sent(conn, row, now)
            return "sent"
        if result.retryable and attempts < self._settings.delivery_max_attempts:
            delay = backoff_seconds(attempts, base_s=self._settings.delivery_backoff_base_s,
                                    max_s=self._settings.delivery_backoff_max_s, rng=self._rng)
            await store_delivery.mark_retry(conn, row["id"], attempts, now + timedelta(seconds=delay), result.reason)
            log.info("delivery.retry_scheduled", notification_id=str(row["id"]), channel=row["channel"],
                     reason=result.reason, attempt=attempts, delay_s=round(delay, 1))
            return "retry"
        status = "dead" if result.retryable else "failed"
        if await store_delivery.mark_final(conn, row["id"], attempts, status, result.reason) is None:
            return "lease_lost"
        await outbox.add(conn, NotificationFailed(
            notification_id=row["id"], source_event_id=row["source_event_id"], child_id=row["child_id"],
            channel=row["channel"], recipient_kind=row["recipient_kind"], template=row["template"][:64],
            reason=result.reason, attempts=attempts, dead_lettered=status == "dead"))
        log.warning("delivery.gave_up", notification_id=str(row["id"]), channel=row["channel"],
                    reason=result.reason, attempts=attempts, status=status)
        return status

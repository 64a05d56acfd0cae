"""Events notify consumes: on_<event>(conn, envelope); `build_handlers(settings)` maps event
class → handler (the map needs the default quiet hours, hence a builder, not a global).

Every routed event is planned into one notification row per (event, recipient, channel) in
the consumer's transaction; in-app rows are delivered by being written (the inbox), the
others are sent by the delivery loop. A redelivered event finds its rows and adds nothing.
"""

from __future__ import annotations

from datetime import time
from typing import Any, Awaitable, Callable

import asyncpg

from services.notify import domain, store
from services.notify.config import NotifySettings
from services.notify.domain_delivery import parse_quiet_hours
from shared import outbox
from shared.consumer import DependencyMissing
from shared.contracts import (
    CaregiverEnrolled, CaregiverUpdated, ChildClosed, ChildRegistered, ChildReopened, ChildTransferred,
    ChildUpdated, ConcernAcknowledged, ConcernDeadlineMissed, ConcernEscalated, ConcernRaised, ContactOverdue,
    DutyDueSoon, Envelope, NotificationSent, PairingCreated, PairingEnded, VisitLogged,
)

Handler = Callable[[asyncpg.Connection, Envelope], Awaitable[None]]


class NotifyHandlers:
    def __init__(self, settings: NotifySettings) -> None:
        self._default_quiet: dict[str, tuple[time, time] | None] = {
            "guardian": parse_quiet_hours(settings.quiet_hours_guardian),
            "caregiver": parse_quiet_hours(settings.quiet_hours_caregiver),
            "staff": parse_quiet_hours(settings.quiet_hours_staff),
        }
        self._timezone = settings.county_timezone
        self._settings = settings

    # -- projections ------------------------------------------------------------------------

    async def on_child_facts(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        await store.upsert_child(conn, envelope.data)
        await self._forward_to_webhooks(conn, envelope, envelope.data.jurisdiction.county_code)

    async def on_caregiver_facts(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        await store.upsert_caregiver(conn, envelope.data)

    # -- routed events ----------------------------------------------------------------------

    async def on_routed_event(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        event = envelope.data
        # Routing to staff needs the child's school, which arrives on the registry's topic:
        # an event can overtake its child. Retry until the child is known; never drop it.
        child = await store.get_child(conn, event.child_id)
        if child is None:
            raise DependencyMissing("child not yet registered here")
        routing = domain.routing_for(event, child["school_id"])
        if routing is None:
            return
        geo = {"county_code": routing.county_code, "township_code": routing.township_code,
               "village_code": routing.village_code}
        rules = await store.rules_for(conn, routing.county_code, routing.event_type)
        for audience in routing.audiences:
            rule = rules.get(audience)
            if rule is None or not rule.enabled:
                continue
            recipients = await self._recipients(conn, audience, routing, child)
            for planned in domain.plan(envelope.id, routing, rule, recipients, self._default_quiet):
                in_app = planned.channel == "in_app"
                now = self._settings.clock.now()
                if await store.insert_notification(conn, planned, geo, delivered_in_app=in_app, now=now) and in_app:
                    await outbox.add(conn, NotificationSent(
                        notification_id=planned.id, source_event_id=envelope.id, child_id=planned.child_id,
                        channel="in_app", recipient_kind=planned.recipient_kind, template=planned.template,
                        sent_at=now, attempts=1))
        await self._forward_to_webhooks(conn, envelope, routing.county_code, geo)

    async def _recipients(self, conn: asyncpg.Connection, audience: str, routing: domain.Routing,
                          child: asyncpg.Record) -> list[domain.Recipient]:
        if audience == "caregiver" and routing.caregiver_id:
            row = await store.get_caregiver(conn, routing.caregiver_id)
            if row is None:
                # Caregivers arrive on pairing's topic and can be overtaken by a duty or visit
                # event from visits' topic; planned now, the notice would go to the inbox only
                # and never by the caregiver's SMS or email. Retry until the caregiver is known.
                raise DependencyMissing("caregiver not yet known here")
            available = ("in_app",) + (tuple(row["channels"]) if row["active"] else ())
            prefs = await store.preferences_for(conn, "caregiver", [routing.caregiver_id])
            return [domain.Recipient("caregiver", routing.caregiver_id, available,
                                     prefs.get(routing.caregiver_id, self._defaults()))]
        if audience == "guardian":
            guardian_id = str(routing.child_id)
            prefs = await store.preferences_for(conn, "guardian", [guardian_id])
            return [domain.Recipient("guardian", guardian_id, ("sms",), prefs.get(guardian_id, self._defaults()))]
        if audience.endswith("_staff"):
            rows = await store.staff_at_level(conn, audience.removesuffix("_staff"), child)
        elif audience == "on_duty":
            rows = await self._on_duty(conn, routing, child)
        else:
            return []
        prefs = await store.preferences_for(conn, "staff", [row["staff_id"] for row in rows])
        return [domain.Recipient("staff", row["staff_id"], ("in_app", *row["channels"]),
                                 prefs.get(row["staff_id"], self._defaults())) for row in rows]

    async def _on_duty(self, conn: asyncpg.Connection, routing: domain.Routing,
                       child: asyncpg.Record) -> list[asyncpg.Record]:
        """Whoever is on duty where the alert belongs; failing that the level above; failing a
        roster at all, the staff of those levels. A concern never finds nobody to tell."""
        if routing.duty_level == "school":
            rows = await store.staff_at_level(conn, "school", child)
            if rows:
                return rows
        chain = [("roster", routing.township_code), ("roster", routing.county_code),
                 ("staff", "township"), ("staff", "county")]
        if routing.duty_level == "county":
            chain = [("roster", routing.county_code), ("staff", "county")]
        for kind, where in chain:
            rows = await (store.on_duty(conn, where, self._settings.clock.now()) if kind == "roster"
                          else store.staff_at_level(conn, where, child))
            if rows:
                return rows
        return []

    def _defaults(self) -> domain.Preferences:
        return domain.Preferences(timezone=self._timezone)

    async def _forward_to_webhooks(self, conn: asyncpg.Connection, envelope: Envelope, county_code: str,
                                   geo: dict[str, Any] | None = None) -> None:
        event = envelope.data
        subscribers = await store.webhook_subscribers(conn, county_code, event.name)
        if not subscribers:
            return
        if geo is None:
            j = event.jurisdiction
            geo = {"county_code": j.county_code, "township_code": j.township_code, "village_code": j.village_code}
        for planned in domain.plan_webhooks(envelope.id, event.name, getattr(event, "child_id", None), subscribers,
                                            event.model_dump(mode="json")):
            await store.insert_notification(conn, planned, geo, delivered_in_app=False,
                                             now=self._settings.clock.now())

    def handler_map(self) -> dict[type, Handler]:
        routed = (VisitLogged, DutyDueSoon, ContactOverdue, ConcernRaised, ConcernEscalated, ConcernAcknowledged,
                  ConcernDeadlineMissed, PairingCreated, PairingEnded)
        handlers: dict[type, Handler] = {cls: self.on_routed_event for cls in routed}
        for cls in (ChildRegistered, ChildUpdated, ChildTransferred, ChildClosed, ChildReopened):
            handlers[cls] = self.on_child_facts
        for cls in (CaregiverEnrolled, CaregiverUpdated):
            handlers[cls] = self.on_caregiver_facts
        return handlers


def build_handlers(settings: NotifySettings) -> dict[type, Handler]:
    return NotifyHandlers(settings).handler_map()

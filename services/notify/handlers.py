"""Events notify consumes: on_<event>(conn, envelope); `build_handlers(settings)` maps event
class → handler (the map needs the default quiet hours, hence a builder, not a global).

Every routed event is planned into one notification row per (event, recipient, channel) in
the consumer's transaction; in-app rows are delivered by being written (the inbox), the
others are sent by the delivery loop. A redelivered event finds its rows and adds nothing.
"""

from __future__ import annotations

from datetime import time
from typing import Any, Awaitable, Callable
from uuid import UUID

import asyncpg

from services.notify import domain, store, store_erasure, store_family, store_held
from services.notify.config import NotifySettings
from services.notify.domain_delivery import parse_quiet_hours
from shared import erasure, outbox
from shared.consumer import DependencyMissing
from shared.contracts import (
    CaregiverEnrolled, CaregiverUpdated, ChildClosed, ChildErased, ChildRegistered, ChildReopened, ChildTransferred,
    ChildUpdated, ConcernAcknowledged, ConcernDeadlineMissed, ConcernEscalated, ConcernRaised, ContactOverdue,
    DutyDueSoon, DutyScheduled, Envelope, NotificationSent, PairingCreated, PairingEnded, VisitLogged,
)

Handler = Callable[[asyncpg.Connection, Envelope], Awaitable[None]]
_ROUTED = (VisitLogged, DutyDueSoon, ContactOverdue, ConcernRaised, ConcernEscalated, ConcernAcknowledged,
           ConcernDeadlineMissed, PairingCreated, PairingEnded, DutyScheduled)
_ROUTED_BY_NAME = {cls.name: cls for cls in _ROUTED}
# Audiences found among registered staff: these can come up empty. A caregiver always has
# the in-app inbox and a guardian is one recipient per child (no phone: no_address at send).
_HELD_AUDIENCES = ("school_staff", "township_staff", "county_staff", "on_duty")


def _geo(routing: domain.Routing) -> dict[str, Any]:
    return {"county_code": routing.county_code, "township_code": routing.township_code,
            "village_code": routing.village_code, "school_id": routing.school_id}


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

    async def on_pairing(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        """Who is paired with whom (a caregiver writes to the family of their own children),
        then the pairing's notices."""
        event = envelope.data
        await store_family.set_pairing(conn, event.child_id, event.caregiver_id, isinstance(event, PairingCreated))
        await self.on_routed_event(conn, envelope)

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
        rules = await store.rules_for(conn, routing.county_code, routing.event_type)
        for audience in routing.audiences:
            rule = rules.get(audience)
            if rule is None or not rule.enabled:
                continue
            if not await self._plan(conn, envelope.id, routing, rule, audience, child) and audience in _HELD_AUDIENCES:
                # Nobody to tell: kept, listed for county staff, and planned again once someone
                # is configured — never silently nothing.
                await store_held.hold_routing(
                    conn, source_event_id=envelope.id, audience=audience, event_type=routing.event_type,
                    event_data=event.model_dump(mode="json"), child=child, now=self._settings.clock.now())
        await self._forward_to_webhooks(conn, envelope, routing.county_code, _geo(routing))

    async def _plan(self, conn: asyncpg.Connection, event_id: UUID, routing: domain.Routing, rule: domain.Rule,
                    audience: str, child: asyncpg.Record) -> int:
        """Plans the messages of one audience; returns how many recipients were found."""
        recipients = await self._recipients(conn, audience, routing, child)
        for planned in domain.plan(event_id, routing, rule, recipients, self._default_quiet):
            in_app = planned.channel == "in_app"
            now = self._settings.clock.now()
            if await store.insert_notification(conn, planned, _geo(routing), delivered_in_app=in_app,
                                               now=now) and in_app:
                await outbox.add(conn, NotificationSent(
                    notification_id=planned.id, source_event_id=event_id, child_id=planned.child_id,
                    channel="in_app", recipient_kind=planned.recipient_kind, template=planned.template,
                    sent_at=now, attempts=1))
        return len(recipients)

    async def release_held(self, conn: asyncpg.Connection, limit: int = 100) -> int:
        """Plans again the held routings for which someone can now be found (a recipient or a
        roster configured since). Returns how many were released. The notifications' unique
        key makes a second release of the same event plan nothing twice."""
        released = 0
        for held in await store_held.open_routings(conn, limit):
            child = await store.get_child(conn, held["child_id"])
            event = _ROUTED_BY_NAME[held["event_type"]].model_validate(held["event_data"])
            routing = domain.routing_for(event, child["school_id"] if child else held["school_id"])
            rule = (await store.rules_for(conn, held["county_code"], held["event_type"])).get(held["audience"])
            if child is None or routing is None or rule is None or not rule.enabled:
                continue
            found = await self._plan(conn, held["source_event_id"], routing, rule, held["audience"], child)
            if found:
                await store_held.release_routing(conn, held["source_event_id"], held["audience"],
                                                 self._settings.clock.now(), found)
                released += 1
        return released

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
            # The guardians and parents who agreed to receive messages (family_consents), each
            # by the registry's entry id; nobody has: no message, and nothing held.
            members = await store_family.opted_in_members(conn, routing.child_id)
            prefs = await store.preferences_for(conn, "guardian", members)
            return [domain.Recipient("guardian", member, ("sms",), prefs.get(member, self._defaults()))
                    for member in members]
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
        handlers: dict[type, Handler] = {cls: self.on_routed_event for cls in _ROUTED}
        for cls in (ChildRegistered, ChildUpdated, ChildTransferred, ChildClosed, ChildReopened):
            handlers[cls] = self.on_child_facts
        for cls in (CaregiverEnrolled, CaregiverUpdated):
            handlers[cls] = self.on_caregiver_facts
        handlers[ChildErased] = erasure.handler(store_erasure.erase_child)
        for cls in (PairingCreated, PairingEnded):
            handlers[cls] = self.on_pairing
        return handlers


def build_handlers(settings: NotifySettings) -> dict[type, Handler]:
    return NotifyHandlers(settings).handler_map()

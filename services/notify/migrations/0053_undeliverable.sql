-- Nothing vanishes silently.
--
-- An event routed to an audience in which nobody can be found (no staff registered for the
-- child's school, township or county; no roster and no staff for an alert) is held here with
-- its reason, instead of making no notification at all. The event's data is kept (events
-- carry no personal data) so that it can be planned again: once the missing recipient is
-- configured, it is delivered, once (the notifications' unique key sees to that).
CREATE TABLE held_routings (
    source_event_id uuid NOT NULL,
    audience        text NOT NULL,
    event_type      text NOT NULL,
    event_data      jsonb NOT NULL,
    reason          text NOT NULL CHECK (reason IN ('no_recipient')),
    child_id        uuid,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    held_at         timestamptz NOT NULL,
    released_at     timestamptz,
    notifications   integer NOT NULL DEFAULT 0,   -- how many were planned when it was released
    PRIMARY KEY (source_event_id, audience)
);
CREATE INDEX held_routings_open ON held_routings (held_at) WHERE released_at IS NULL;

-- A message on a channel with no provider configured is 'held' (reason in last_error:
-- 'no_provider') rather than pending for ever; it goes back to pending when a delivery loop
-- with that channel's provider starts.
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead', 'held'));
CREATE INDEX notifications_held ON notifications (channel, created_at) WHERE status = 'held';

-- Where a child lives, for routing to the right staff. No personal data.
CREATE TABLE children (
    id              uuid PRIMARY KEY,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    record_version  integer NOT NULL
);

-- One row per (event, recipient, channel): the unique key is what makes a redelivered
-- event produce no second message.
CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    source_event_id uuid NOT NULL,
    recipient_kind  text NOT NULL,
    recipient_id    text NOT NULL,
    channel         text NOT NULL,
    template        text NOT NULL,
    child_id        uuid NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    status          text NOT NULL DEFAULT 'pending',
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_event_id, recipient_kind, recipient_id, channel)
);
CREATE INDEX notifications_recipient ON notifications (recipient_kind, recipient_id, created_at DESC);

-- Notify's own tables. Personal data held here is listed in docs/notify.md: only staff
-- contact addresses and webhook secrets (encrypted), never caregivers' or guardians'.

-- Where a child lives and which school, for routing to the right staff. No personal data.
CREATE TABLE children (
    id              uuid PRIMARY KEY,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    status          text NOT NULL DEFAULT 'active',
    record_version  integer NOT NULL
);

-- Which channels a caregiver can be reached on (from pairing's events), never the addresses.
CREATE TABLE caregivers (
    id              uuid PRIMARY KEY,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    channels        text[] NOT NULL DEFAULT '{}',
    active          boolean NOT NULL DEFAULT true,
    record_version  integer NOT NULL
);

-- Who receives what, per county ('' = the defaults every county starts from).
CREATE TABLE routing_rules (
    county_code     text NOT NULL,
    event_type      text NOT NULL,
    audience        text NOT NULL,
    template        text NOT NULL,
    channels        text[] NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county_code, event_type, audience)
);

-- Staff who receive escalations and alerts. `contacts_enc` is one FieldCipher ciphertext of
-- a JSON object {channel: address}; the channels list is kept in clear for routing.
CREATE TABLE staff_recipients (
    id              uuid PRIMARY KEY,
    staff_id        text NOT NULL UNIQUE,
    jurisdiction    text NOT NULL,
    level           text NOT NULL CHECK (level IN ('school', 'township', 'county')),
    school_id       text,
    channels        text[] NOT NULL,
    contacts_enc    text NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_recipients_jurisdiction ON staff_recipients (jurisdiction, level) WHERE active;

-- Who is on duty for concerns, per township or county, over a time window.
CREATE TABLE duty_roster (
    id              uuid PRIMARY KEY,
    recipient_id    uuid NOT NULL REFERENCES staff_recipients (id),
    jurisdiction    text NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL CHECK (ends_at > starts_at),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX duty_roster_now ON duty_roster (jurisdiction, starts_at, ends_at);

-- What a recipient chose: channels, opting out of non-urgent messages, quiet hours.
CREATE TABLE recipient_preferences (
    recipient_kind  text NOT NULL,
    recipient_id    text NOT NULL,
    channels        text[],
    opt_out_non_urgent boolean NOT NULL DEFAULT false,
    quiet_start     time,
    quiet_end       time,
    timezone        text NOT NULL DEFAULT 'Asia/Shanghai',
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (recipient_kind, recipient_id)
);

-- Other government systems subscribed to notify's feed of events.
CREATE TABLE webhook_subscriptions (
    id              uuid PRIMARY KEY,
    county_code     text NOT NULL,
    url_enc         text NOT NULL,
    secret_enc      text NOT NULL,
    event_types     text[] NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Templates per (key, locale, channel); channel 'default' serves every channel without its own.
CREATE TABLE templates (
    template_key    text NOT NULL,
    locale          text NOT NULL,
    channel         text NOT NULL,
    subject         text,
    body            text NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (template_key, locale, channel)
);

-- One row per (event, recipient, channel): the unique key is what makes a redelivered event
-- produce no second message. The row is also the delivery's state machine:
-- pending → sending (claimed, with a lease) → sent | failed (will not succeed) | dead (gave up);
-- a failed attempt that may succeed later goes back to pending with a later next_attempt_at.
CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    source_event_id uuid NOT NULL,
    event_type      text NOT NULL,
    recipient_kind  text NOT NULL,
    recipient_id    text NOT NULL,
    channel         text NOT NULL,
    template        text NOT NULL,
    variables       jsonb NOT NULL DEFAULT '{}',
    payload         jsonb,
    child_id        uuid,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    urgent          boolean NOT NULL DEFAULT false,
    quiet_start     time,
    quiet_end       time,
    quiet_timezone  text,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text,
    provider_ref    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    read_at         timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_event_id, recipient_kind, recipient_id, channel)
);
CREATE INDEX notifications_recipient ON notifications (recipient_kind, recipient_id, created_at DESC);
CREATE INDEX notifications_due ON notifications (channel, next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_leased ON notifications (lease_until) WHERE status = 'sending';
CREATE INDEX notifications_log ON notifications (township_code, created_at DESC);

-- Sends per channel over the last minute, shared by every worker replica: a claim takes a
-- transaction-scoped advisory lock on the channel, counts the window and adds its own rows.
CREATE TABLE rate_claims (
    bucket          text NOT NULL,
    claimed_at      timestamptz NOT NULL
);
CREATE INDEX rate_claims_window ON rate_claims (bucket, claimed_at);

-- Visits' own tables. Children and pairings are projections of the registry's and
-- pairing's events; contacts, concerns, duty policies and duty instances are ours.

-- Children visits may log contacts for (registry events; newest record_version wins).
CREATE TABLE children (
    id              uuid PRIMARY KEY,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    priority        boolean NOT NULL DEFAULT false,
    status          text NOT NULL,
    record_version  integer NOT NULL
);
CREATE INDEX children_township ON children (township_code);

-- Pairings (pairing events). A caregiver may log contacts only for a child paired with
-- them; duties are derived for the lead caregiver of each active pairing.
CREATE TABLE pairings (
    id              uuid PRIMARY KEY,
    child_id        uuid NOT NULL,
    caregiver_id    uuid NOT NULL,
    role            text NOT NULL,
    started_on      date,
    ended_on        date,
    -- Periods ending before this date are never derived again (history stays history).
    derived_from    date,
    -- The as-of date of the last derivation: the scheduler extends from here.
    derived_as_of   date
);
CREATE INDEX pairings_child ON pairings (child_id);
CREATE INDEX pairings_caregiver ON pairings (caregiver_id, child_id);
CREATE INDEX pairings_to_extend ON pairings (derived_as_of) WHERE ended_on IS NULL AND role = 'lead';

CREATE TABLE contacts (
    id              uuid PRIMARY KEY,           -- the client's own id: a repeat is a no-op
    child_id        uuid NOT NULL REFERENCES children (id),
    caregiver_id    uuid NOT NULL,
    other_caregiver_ids uuid[] NOT NULL DEFAULT '{}',
    kind            text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    place           text,
    location_enc    text,                       -- "lat,lon", encrypted: it is where the child lives
    rating_study    smallint CHECK (rating_study BETWEEN 1 AND 5),
    rating_daily_life smallint CHECK (rating_daily_life BETWEEN 1 AND 5),
    rating_emotions smallint CHECK (rating_emotions BETWEEN 1 AND 5),
    rating_safety   smallint CHECK (rating_safety BETWEEN 1 AND 5),
    rating_health   smallint CHECK (rating_health BETWEEN 1 AND 5),
    notes_enc       text,                       -- free-text observations, encrypted
    call_initiated_by text,
    call_minutes    integer,
    follow_ups_enc  text,                       -- JSON list of {action, due_on}, encrypted
    concern_count   integer NOT NULL DEFAULT 0,
    logged_by       text NOT NULL,
    logged_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_child ON contacts (child_id, occurred_at DESC);
CREATE INDEX contacts_caregiver ON contacts (caregiver_id, occurred_at DESC);
CREATE INDEX contacts_township ON contacts (township_code, occurred_at DESC);

CREATE TABLE concerns (
    id              uuid PRIMARY KEY,
    contact_id      uuid NOT NULL REFERENCES contacts (id),
    child_id        uuid NOT NULL,
    category        text NOT NULL,
    severity        text NOT NULL,
    mandatory_report boolean NOT NULL,
    detail_enc      text,
    raised_at       timestamptz NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged')),
    escalation_level text NOT NULL DEFAULT 'township',
    acknowledged_by text,
    acknowledged_at timestamptz,
    referred_to     text[] NOT NULL DEFAULT '{}',
    ack_note_enc    text,
    version         integer NOT NULL DEFAULT 1
);
CREATE INDEX concerns_open ON concerns (raised_at) WHERE status = 'open';
CREATE INDEX concerns_township ON concerns (township_code, raised_at DESC);

-- One row per (concern, level) it was escalated to: the unique key makes an escalation
-- happen once, whatever replicas or restarts do.
CREATE TABLE concern_escalations (
    concern_id      uuid NOT NULL REFERENCES concerns (id),
    level           text NOT NULL,
    escalated_at    timestamptz NOT NULL,
    PRIMARY KEY (concern_id, level)
);

-- Duty policies: how often each kind of duty falls due. scope_code '' is the default for
-- every county; a county or township code overrides it there; audience 'priority' rows
-- apply to priority children before 'all' rows.
CREATE TABLE duty_policies (
    scope_code      text NOT NULL CHECK (scope_code = '' OR scope_code ~ '^\d{12}$'),
    audience        text NOT NULL CHECK (audience IN ('all', 'priority')),
    duty_kind       text NOT NULL,
    period          text NOT NULL CHECK (period IN ('weekly', 'monthly', 'term', 'off')),
    version         integer NOT NULL DEFAULT 1,
    updated_by      text NOT NULL DEFAULT 'migration',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope_code, audience, duty_kind)
);
-- The reports' defaults (三个一 篇16, monthly talks 篇25/31, weekly talks for priority children 篇25).
INSERT INTO duty_policies (scope_code, audience, duty_kind, period) VALUES
    ('', 'all', 'home_visit', 'monthly'),
    ('', 'all', 'parent_call', 'monthly'),
    ('', 'all', 'letter', 'term'),
    ('', 'all', 'talk', 'monthly'),
    ('', 'priority', 'talk', 'weekly');

-- Duty instances: one per pairing, kind and period. Emission of DutyDueSoon and of each
-- ContactOverdue level is recorded in the row, in the transaction that writes the event.
CREATE TABLE duties (
    id              uuid PRIMARY KEY,
    pairing_id      uuid NOT NULL,
    child_id        uuid NOT NULL,
    caregiver_id    uuid NOT NULL,
    duty_kind       text NOT NULL,
    period_start    date NOT NULL,
    due_on          date NOT NULL,              -- the period's last day
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fulfilled', 'cancelled')),
    fulfilled_by    uuid,
    fulfilled_at    timestamptz,
    due_soon_at     timestamptz,
    overdue_level   smallint NOT NULL DEFAULT 0,  -- 0 none, 1 caregiver, 2 school/township, 3 county
    overdue_at      timestamptz,
    UNIQUE (pairing_id, duty_kind, period_start)
);
-- The scans' index: only open duties not yet escalated to the top are ever scanned.
CREATE INDEX duties_to_escalate ON duties (due_on) WHERE status = 'open' AND overdue_level < 3;
CREATE INDEX duties_due_soon ON duties (due_on) WHERE status = 'open' AND due_soon_at IS NULL;
CREATE INDEX duties_child ON duties (child_id, duty_kind, due_on);
CREATE INDEX duties_caregiver ON duties (caregiver_id, due_on);
CREATE INDEX duties_township ON duties (township_code, due_on) WHERE status = 'open';

-- Every read of sensitive fields (observations, follow-ups, coordinates, a concern's
-- nature), append-only: who, what, when. Never the content.
CREATE TABLE sensitive_reads (
    id              bigserial PRIMARY KEY,
    subject         text NOT NULL,
    record_kind     text NOT NULL,
    record_id       uuid NOT NULL,
    read_at         timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION sensitive_reads_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sensitive_reads is append-only';
END $$;
CREATE TRIGGER sensitive_reads_append_only BEFORE UPDATE OR DELETE ON sensitive_reads
    FOR EACH ROW EXECUTE FUNCTION sensitive_reads_append_only();

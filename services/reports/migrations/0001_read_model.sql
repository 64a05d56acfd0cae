-- The reports' read model: facts from every domain topic with the times they took effect,
-- so that any figure can be computed for any period and as of any past date. Nothing here
-- is personal: opaque ids, division codes, school ids, non-sensitive categories, kinds and
-- times, as the events carry them. Each table keeps what a later fact must not overwrite
-- (a child's every record version; a duty's scheduling, fulfilment and cancellation times).

-- Every version of every child's record (registry events), effective from the event's time.
CREATE TABLE child_versions (
    child_id        uuid NOT NULL,
    record_version  integer NOT NULL,
    event_type      text NOT NULL,
    effective_at    timestamptz NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    status          text NOT NULL,
    categories      text[] NOT NULL DEFAULT '{}',
    left_behind_type text,
    priority        boolean NOT NULL DEFAULT false,
    age_band        text NOT NULL,
    from_county_code text,
    from_township_code text,
    from_village_code text,
    from_school_id  text,
    close_reason    text,
    PRIMARY KEY (child_id, record_version)
);
CREATE INDEX child_versions_effective ON child_versions (effective_at);
CREATE INDEX child_versions_event ON child_versions (event_type, effective_at);

-- Every version of every caregiver (pairing events).
CREATE TABLE caregiver_versions (
    caregiver_id    uuid NOT NULL,
    record_version  integer NOT NULL,
    effective_at    timestamptz NOT NULL,
    kind            text NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    capacity        integer NOT NULL,
    active          boolean NOT NULL,
    PRIMARY KEY (caregiver_id, record_version)
);

-- Pairings with the dates they ran (started_on .. ended_on, as pairing dates them) and
-- when each was recorded, for figures "as known on" a past date.
CREATE TABLE pairings (
    pairing_id      uuid PRIMARY KEY,
    child_id        uuid NOT NULL,
    caregiver_id    uuid NOT NULL,
    role            text NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    priority        boolean NOT NULL DEFAULT false,
    started_on      date NOT NULL,
    recorded_at     timestamptz NOT NULL,
    ended_on        date,
    end_reason      text,
    ended_recorded_at timestamptz
);
CREATE INDEX pairings_child ON pairings (child_id);
CREATE INDEX pairings_started ON pairings (started_on);

-- Contacts by kind and time (visits' VisitLogged).
CREATE TABLE contacts (
    contact_id      uuid PRIMARY KEY,
    child_id        uuid NOT NULL,
    caregiver_id    uuid NOT NULL,
    kind            text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    concern_raised  boolean NOT NULL DEFAULT false
);
CREATE INDEX contacts_occurred ON contacts (occurred_at);

-- Duty instances (visits' duty events): when each was owed, met or cancelled.
CREATE TABLE duties (
    duty_id         uuid PRIMARY KEY,
    child_id        uuid NOT NULL,
    caregiver_id    uuid NOT NULL,
    duty_kind       text NOT NULL,
    period_start    date,
    due_on          date NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    scheduled_at    timestamptz NOT NULL,
    fulfilled_at    timestamptz,
    fulfilled_by    uuid,
    cancelled_at    timestamptz,
    first_overdue_at timestamptz
);
CREATE INDEX duties_due ON duties (due_on);
CREATE INDEX duties_caregiver ON duties (caregiver_id, due_on);

-- Concerns raised during contacts: urgency and the mandatory-report flag, never their nature.
CREATE TABLE concerns (
    concern_id      uuid PRIMARY KEY,
    child_id        uuid NOT NULL,
    contact_id      uuid NOT NULL,
    severity        text NOT NULL,
    mandatory_report boolean NOT NULL,
    raised_at       timestamptz NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    acknowledged_at timestamptz,
    escalation_level text
);
CREATE INDEX concerns_raised ON concerns (raised_at);

-- Expected counts (registry's ExpectedCountSet), every value with the time it was set:
-- 建档率 as of a date is measured against the counts in force then.
CREATE TABLE expected_counts (
    kind            text NOT NULL CHECK (kind IN ('township', 'school')),
    code            text NOT NULL,
    township_code   text NOT NULL,
    expected        integer NOT NULL,
    effective_at    timestamptz NOT NULL,
    PRIMARY KEY (kind, code, effective_at)
);

-- Weights of the assessment (考核) score, set by a county (or for a township) for its scope.
CREATE TABLE assessment_weights (
    scope_code      text PRIMARY KEY CHECK (scope_code ~ '^\d{12}$'),
    on_time         numeric NOT NULL,
    late            numeric NOT NULL,
    overdue         numeric NOT NULL,
    coverage        numeric NOT NULL,
    updated_by      text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1
);

-- The child's school when something happened to it: the newest version in effect then
-- (or its first version, for a contact logged as it was being registered).
CREATE FUNCTION child_school_at(child uuid, at timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT school_id FROM child_versions
     WHERE child_id = child
     ORDER BY effective_at > at, CASE WHEN effective_at <= at THEN -record_version ELSE record_version END
     LIMIT 1
$$;

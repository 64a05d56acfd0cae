-- Caregivers, pairings, matching proposals, support records (帮扶), caregiver activity
-- and the audit of contact-point reads.

-- When the child first reached pairing: the unpaired work list is oldest first.
ALTER TABLE children ADD COLUMN first_seen_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX children_school ON children (school_id) WHERE status = 'active';

-- Capacity per kind may be set per county; kinds without a row use the built-in default.
CREATE TABLE capacity_defaults (
    county_code  text NOT NULL,
    kind         text NOT NULL,
    capacity     integer NOT NULL CHECK (capacity >= 0),
    updated_by   text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county_code, kind)
);

CREATE TABLE caregivers (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    -- NULL: the county's (or built-in) default for the kind applies.
    capacity_override integer CHECK (capacity_override >= 0),
    -- Name and contact points are encrypted (shared.crypto.FieldCipher); only which
    -- channels exist is kept in clear (it is what the events carry).
    name_enc        text,
    phone_enc       text,
    email_enc       text,
    wecom_enc       text,
    dingtalk_enc    text,
    channels        text[] NOT NULL DEFAULT '{}',
    active          boolean NOT NULL DEFAULT true,
    version         integer NOT NULL DEFAULT 1,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX caregivers_township ON caregivers (township_code) WHERE active;
CREATE INDEX caregivers_school ON caregivers (school_id) WHERE active AND school_id IS NOT NULL;

CREATE TABLE pairings (
    id            uuid PRIMARY KEY,
    child_id      uuid NOT NULL REFERENCES children (id),
    caregiver_id  uuid NOT NULL REFERENCES caregivers (id),
    role          text NOT NULL CHECK (role IN ('lead', 'helper')),
    started_on    date NOT NULL,
    ended_on      date,
    end_reason    text,
    proposal_id   uuid,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    ended_by      text,
    ended_at      timestamptz,
    CHECK ((ended_on IS NULL) = (end_reason IS NULL))
);
-- One active pairing per (child, caregiver), one active lead per child: the database says
-- so too, whatever a racing request believed.
CREATE UNIQUE INDEX pairings_active_pair ON pairings (child_id, caregiver_id) WHERE ended_on IS NULL;
CREATE UNIQUE INDEX pairings_active_lead ON pairings (child_id) WHERE ended_on IS NULL AND role = 'lead';
CREATE INDEX pairings_caregiver_active ON pairings (caregiver_id) WHERE ended_on IS NULL;
CREATE INDEX pairings_child ON pairings (child_id);

CREATE TABLE proposals (
    id            uuid PRIMARY KEY,
    jurisdiction  text NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    children_considered integer NOT NULL,
    caregivers_considered integer NOT NULL,
    solve_ms      integer NOT NULL
);

CREATE TABLE proposal_items (
    proposal_id   uuid NOT NULL REFERENCES proposals (id),
    child_id      uuid NOT NULL,
    caregiver_id  uuid NOT NULL,
    match_level   text NOT NULL,
    cost          integer NOT NULL,
    status        text NOT NULL DEFAULT 'proposed'
                  CHECK (status IN ('proposed', 'accepted', 'refused')),
    refusal       text,
    pairing_id    uuid,
    decided_at    timestamptz,
    PRIMARY KEY (proposal_id, child_id)
);

CREATE TABLE support_records (
    id            uuid PRIMARY KEY,
    child_id      uuid NOT NULL REFERENCES children (id),
    county_code   text NOT NULL,
    township_code text NOT NULL,
    village_code  text,
    kind          text NOT NULL CHECK (kind IN ('financial_aid', 'in_kind')),
    amount_fen    bigint NOT NULL CHECK (amount_fen >= 0),
    item          text,
    fund          text NOT NULL,
    given_on      date NOT NULL,
    period_key    text NOT NULL,
    given_by_enc  text,
    flagged_duplicate_of uuid,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_child_fund_period ON support_records (child_id, fund, period_key);
CREATE INDEX support_township ON support_records (township_code, given_on);

-- Contacts from visits' VisitLogged: the raw facts, one row per contact (idempotent by
-- contact id), so activity can be counted over any period.
CREATE TABLE caregiver_contacts (
    contact_id    uuid PRIMARY KEY,
    caregiver_id  uuid NOT NULL,
    child_id      uuid NOT NULL,
    kind          text NOT NULL,
    occurred_at   timestamptz NOT NULL,
    township_code text NOT NULL
);
CREATE INDEX caregiver_contacts_by_caregiver ON caregiver_contacts (caregiver_id, occurred_at);

-- Append-only: who read a caregiver's contact points, when, for what.
CREATE TABLE contact_point_reads (
    id            bigserial PRIMARY KEY,
    caregiver_id  uuid NOT NULL,
    reader        text NOT NULL,
    reader_roles  text[] NOT NULL,
    read_at       timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION contact_point_reads_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'contact_point_reads is append-only';
END $$;
CREATE TRIGGER contact_point_reads_append_only BEFORE UPDATE OR DELETE ON contact_point_reads
    FOR EACH ROW EXECUTE FUNCTION contact_point_reads_append_only();

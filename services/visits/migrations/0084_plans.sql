-- A plan per child (个别教育管理方案, 学习帮扶计划): goals, an owner among the caregivers
-- paired with the child, review dates that become the owner's duties (reminded and
-- escalated like every duty), dated progress notes, and a result when it closes.
CREATE TABLE plans (
    id              uuid PRIMARY KEY,
    child_id        uuid NOT NULL REFERENCES children (id),
    kind            text NOT NULL CHECK (kind IN ('education', 'study', 'other')),
    title           text NOT NULL,
    goals_enc       text NOT NULL,               -- JSON list, encrypted: it says what the child struggles with
    owner_caregiver_id uuid NOT NULL,
    owner_pairing_id uuid NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    result          text,
    result_note_enc text,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    closed_by       text,
    closed_at       timestamptz,
    version         integer NOT NULL DEFAULT 1
);
CREATE INDEX plans_child ON plans (child_id, created_at DESC);
CREATE INDEX plans_owner ON plans (owner_caregiver_id) WHERE status = 'open';

-- Each review date and the duty that reminds the owner of it.
CREATE TABLE plan_reviews (
    plan_id         uuid NOT NULL REFERENCES plans (id),
    due_on          date NOT NULL,
    duty_id         uuid NOT NULL,
    reviewed_at     timestamptz,
    reviewed_by     text,
    PRIMARY KEY (plan_id, due_on)
);

CREATE TABLE plan_notes (
    id              uuid PRIMARY KEY,
    plan_id         uuid NOT NULL REFERENCES plans (id),
    noted_on        date NOT NULL,
    note_enc        text NOT NULL,
    written_by      text NOT NULL,
    written_at      timestamptz NOT NULL
);
CREATE INDEX plan_notes_plan ON plan_notes (plan_id, noted_on DESC, id);

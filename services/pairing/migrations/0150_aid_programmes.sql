-- Aid programmes (资助项目): one programme (a fund, who it is for, what each child gets per
-- term, a budget) given out from distribution lists, each list confirmed at once into one
-- support record per child. A child gets a programme once per term: the unique index below
-- says so whatever two racing confirmations believed.
CREATE TABLE aid_programmes (
    id            uuid PRIMARY KEY,
    county_code   text NOT NULL,
    -- the division the programme serves (a county or a township): its staff manage it
    scope_code    text NOT NULL,
    scope_prefix  text NOT NULL,   -- its code's significant digits (shared/auth.scope_prefix)
    name          text NOT NULL,
    fund          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('financial_aid', 'in_kind')),
    item          text,
    amount_fen    bigint NOT NULL CHECK (amount_fen >= 0),   -- per child per term
    budget_fen    bigint NOT NULL CHECK (budget_fen >= 0),   -- over the programme's life
    -- the cohort rule, evaluated against the child projection: {"township_code", "village_code",
    -- "school_ids", "age_bands", "priority_only"}; every key optional
    cohort        jsonb NOT NULL DEFAULT '{}',
    active        boolean NOT NULL DEFAULT true,
    version       integer NOT NULL DEFAULT 1,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX aid_programmes_scope ON aid_programmes (scope_prefix);

CREATE TABLE aid_lists (
    id            uuid PRIMARY KEY,
    programme_id  uuid NOT NULL REFERENCES aid_programmes (id),
    period_key    text NOT NULL,
    given_on      date NOT NULL,
    source        text NOT NULL CHECK (source IN ('cohort', 'upload')),
    status        text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'confirmed')),
    receipt_no    text,            -- the signed receipt sheet's number (签收单编号), at confirmation
    version       integer NOT NULL DEFAULT 1,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    confirmed_by  text,
    confirmed_at  timestamptz,
    CHECK ((status = 'confirmed') = (confirmed_at IS NOT NULL))
);
CREATE INDEX aid_lists_programme ON aid_lists (programme_id, created_at);

CREATE TABLE aid_list_rows (
    list_id       uuid NOT NULL REFERENCES aid_lists (id) ON DELETE CASCADE,
    row_no        integer NOT NULL,   -- the sheet's row, or the draft's order
    child_id      uuid NOT NULL REFERENCES children (id),
    amount_fen    bigint NOT NULL CHECK (amount_fen >= 0),
    receipt_no    text,               -- a row's own receipt number, when the sheet gave one
    support_id    uuid,               -- the support record made at confirmation
    PRIMARY KEY (list_id, row_no),
    UNIQUE (list_id, child_id)
);

ALTER TABLE support_records ADD COLUMN programme_id uuid REFERENCES aid_programmes (id),
                            ADD COLUMN list_id uuid REFERENCES aid_lists (id),
                            ADD COLUMN receipt_no text;
CREATE UNIQUE INDEX support_programme_term ON support_records (programme_id, period_key, child_id)
    WHERE programme_id IS NOT NULL;

SELECT shouhu_track_changes('aid_programmes', 'aid_programme', '', 'id');
SELECT shouhu_track_changes('aid_lists', 'aid_list', '', 'id');

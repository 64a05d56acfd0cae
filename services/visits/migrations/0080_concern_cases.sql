-- A concern becomes a case: acknowledged → referred → accepted by an agency (with its own
-- case number) → under follow-up (dated notes) → closed with an outcome. Each state but the
-- last has a deadline; a missed one climbs the ladder once per level (deadline_level).
ALTER TABLE concerns DROP CONSTRAINT concerns_status_check;
ALTER TABLE concerns ADD CONSTRAINT concerns_status_check
    CHECK (status IN ('open', 'acknowledged', 'referred', 'accepted', 'following_up', 'closed'));
ALTER TABLE concerns
    ADD COLUMN state_changed_at  timestamptz,
    ADD COLUMN state_deadline    timestamptz,
    ADD COLUMN deadline_level    smallint NOT NULL DEFAULT 0,  -- 0 none, 1 township, 2 county
    ADD COLUMN outcome           text,
    ADD COLUMN closed_by         text,
    ADD COLUMN closed_at         timestamptz,
    ADD COLUMN closure_note_enc  text;
CREATE INDEX concerns_case_deadline ON concerns (state_deadline, id)
    WHERE state_deadline IS NOT NULL AND deadline_level < 2;

-- The agencies a county refers concerns to. county_code '' holds the defaults every county
-- starts with; a county's own row with the same code renames or switches one off, and a
-- county may add its own (a named police station, a hospital).
CREATE TABLE referral_agencies (
    county_code     text NOT NULL CHECK (county_code = '' OR county_code ~ '^\d{12}$'),
    code            text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
    name            text NOT NULL,
    kind            text NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    version         integer NOT NULL DEFAULT 1,
    updated_by      text NOT NULL DEFAULT 'migration',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county_code, code)
);
INSERT INTO referral_agencies (county_code, code, name, kind) VALUES
    ('', 'police', '公安机关', 'police'),
    ('', 'civil_affairs', '民政部门', 'civil_affairs'),
    ('', 'womens_federation', '妇联', 'womens_federation'),
    ('', 'education', '教育局', 'education'),
    ('', 'procuratorate', '检察院', 'procuratorate'),
    ('', 'hospital', '医院', 'hospital'),
    ('', 'legal_aid', '司法所/法律援助', 'legal_aid');

-- Each agency a concern was referred to, and its acceptance with the agency's case number.
CREATE TABLE concern_referrals (
    concern_id      uuid NOT NULL REFERENCES concerns (id),
    agency_code     text NOT NULL,
    agency_name     text NOT NULL,              -- as it was called when referred
    referred_at     timestamptz NOT NULL,
    referred_by     text NOT NULL,
    accepted_at     timestamptz,
    accepted_by     text,
    case_number     text,
    PRIMARY KEY (concern_id, agency_code)
);

-- Dated follow-up notes (encrypted, like every free text about a child).
CREATE TABLE concern_notes (
    id              uuid PRIMARY KEY,
    concern_id      uuid NOT NULL REFERENCES concerns (id),
    noted_on        date NOT NULL,
    note_enc        text NOT NULL,
    written_by      text NOT NULL,
    written_at      timestamptz NOT NULL
);
CREATE INDEX concern_notes_concern ON concern_notes (concern_id, noted_on DESC, id);

-- The case's history: each state it entered after being raised, when, by whom.
CREATE TABLE concern_history (
    id              bigserial PRIMARY KEY,
    concern_id      uuid NOT NULL REFERENCES concerns (id),
    state           text NOT NULL,
    entered_at      timestamptz NOT NULL,
    entered_by      text NOT NULL,
    deadline        timestamptz
);
CREATE INDEX concern_history_concern ON concern_history (concern_id, id);

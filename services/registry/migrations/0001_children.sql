-- The registry: one record per child (一人一档). Personal data that the issue names as
-- sensitive (national ID, phones, addresses, sensitive categories, growth notes, the
-- priority reason, the contact card) is stored only as application-encrypted text
-- (shared/crypto.FieldCipher: "v1.<key id>.<…>", bound to the row and column). The name
-- stays in clear because staff search by it; its pinyin is kept beside it for search.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE children (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL,
    -- name, full pinyin and initials in one lower-case string, for the trigram index
    search_text         text NOT NULL DEFAULT '',
    gender              text NOT NULL CHECK (gender IN ('male', 'female')),
    birth_date          date NOT NULL,
    national_id_enc     text,
    -- HMAC blind index of the normalised ID: de-duplication and lookup without the number
    national_id_index   text UNIQUE,
    ethnicity           text,
    household_type      text,
    county_code         text NOT NULL,
    township_code       text NOT NULL,
    village_code        text,
    school_id           text,
    grade               text,
    class_name          text,
    address_enc         text,
    left_behind_type    text,
    categories          text[] NOT NULL DEFAULT '{}',
    sensitive_enc       text,           -- encrypted JSON list of sensitive categories
    priority            boolean NOT NULL DEFAULT false,
    priority_reason_enc text,
    contact_card_enc    text,           -- encrypted JSON: guardians and parents (联系卡)
    lawful_basis        jsonb NOT NULL DEFAULT '{}',
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'transferred', 'closed')),
    close_reason        text,
    status_changed_at   timestamptz NOT NULL DEFAULT now(),
    version             integer NOT NULL DEFAULT 1,
    source              text NOT NULL DEFAULT 'api',
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- Scope checks match coalesce(village_code, township_code) by prefix.
CREATE INDEX children_scope ON children ((coalesce(village_code, township_code)) text_pattern_ops, id);
CREATE INDEX children_township ON children (township_code);
CREATE INDEX children_school ON children (school_id);
CREATE INDEX children_search ON children USING gin (search_text gin_trgm_ops);

-- 成长记录: dated notes, text encrypted; append-only by design (no route edits them).
CREATE TABLE growth_notes (
    id          uuid PRIMARY KEY,
    child_id    uuid NOT NULL REFERENCES children (id),
    noted_on    date NOT NULL,
    area        text NOT NULL CHECK (area IN ('study', 'activities', 'behaviour', 'emotions', 'health', 'other')),
    note_enc    text NOT NULL,
    author      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX growth_notes_child ON growth_notes (child_id, noted_on);

-- Every read that revealed sensitive fields: who, when, which records, which fields, why.
CREATE TABLE sensitive_reads (
    id          bigserial PRIMARY KEY,
    subject     text NOT NULL,
    roles       text[] NOT NULL,
    action      text NOT NULL,
    record_ids  uuid[] NOT NULL,
    fields      text[] NOT NULL,
    purpose     text NOT NULL,
    read_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sensitive_reads_time ON sensitive_reads (read_at);

CREATE FUNCTION sensitive_reads_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sensitive_reads is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER sensitive_reads_append_only BEFORE UPDATE OR DELETE ON sensitive_reads
    FOR EACH ROW EXECUTE FUNCTION sensitive_reads_append_only();
CREATE TRIGGER sensitive_reads_no_truncate BEFORE TRUNCATE ON sensitive_reads
    FOR EACH STATEMENT EXECUTE FUNCTION sensitive_reads_append_only();

-- Expected counts per township or school: what completeness and 建档率 are measured against.
CREATE TABLE expected_counts (
    kind            text NOT NULL CHECK (kind IN ('township', 'school')),
    code            text NOT NULL,        -- township code, or school id
    township_code   text NOT NULL,        -- where it lies (scope checks)
    expected        integer NOT NULL CHECK (expected >= 0),
    updated_by      text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, code)
);

-- Bulk imports: the uploaded file is kept in the row so that a job survives an api restart;
-- a worker claims pending jobs (FOR UPDATE SKIP LOCKED) and commits batch by batch, with
-- rows_done advanced in the same transaction, so a crashed job resumes where it stopped.
CREATE TABLE import_jobs (
    id              uuid PRIMARY KEY,
    created_by      text NOT NULL,
    scope           text NOT NULL,        -- the uploader's jurisdiction (12 digits)
    file_format     text NOT NULL,
    file_sha256     text NOT NULL,
    content         bytea,                -- dropped when the job finishes
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'done', 'failed')),
    rows_total      integer NOT NULL DEFAULT 0,
    rows_done       integer NOT NULL DEFAULT 0,
    rows_imported   integer NOT NULL DEFAULT 0,
    rows_rejected   integer NOT NULL DEFAULT 0,
    rows_existing   integer NOT NULL DEFAULT 0,   -- already registered: not imported again
    failure         text,
    claimed_by      text,
    heartbeat_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX import_jobs_pending ON import_jobs (created_at) WHERE status IN ('pending', 'running');

-- Row errors: row number, column and reason (zh + en). Never the rejected value.
CREATE TABLE import_errors (
    job_id      uuid NOT NULL REFERENCES import_jobs (id),
    row_number  integer NOT NULL,
    column_name text NOT NULL,
    reason      text NOT NULL,
    seq         integer NOT NULL,
    PRIMARY KEY (job_id, row_number, seq)
);
